"""A list as a file (CSV or XLSX), the same for the desk and the API: the items the caller's
page or operation shows, masked as they are for the caller's role, laid out by the list's one
declaration (backoffice.views.exports), and the export written to the audit log (who, which
list, with which filters, how many rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backoffice.domain.errors import ValidationError
from backoffice.domain.masking import mask_personal, mask_text
from backoffice.services.base import audit
from backoffice.store.db import Database
from backoffice.views import exports as layout

FORMATS = layout.FORMATS
MAX_ROWS = layout.MAX_ROWS


@dataclass(frozen=True)
class ExportFile:
    body: bytes
    media: str
    name: str
    rows: int

    @property
    def disposition(self) -> str:
        return f'attachment; filename="{self.name}"'


def wanted(raw: str | None) -> str | None:
    """The `format` asked for: csv or xlsx, None for the page or JSON; else a 400 naming it."""
    if raw in (None, "", "html", "json"):
        return None
    if raw not in FORMATS:
        raise ValidationError("format", f"format 须为 {', '.join(FORMATS)} 之一")
    return raw


def _filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """The filters as the audit keeps them: short text, numbers in it masked."""
    return {str(k)[:40]: mask_text(str(v))[:100] for k, v in filters.items()
            if v not in (None, "") and k != "format"}


def export(db: Database, list_name: str, items: Sequence[Mapping[str, Any]], fmt: str,
           actor: str, filters: Mapping[str, Any], *, pii: bool) -> ExportFile:
    """The file of `items` (at most MAX_ROWS), masked unless `pii`; audited."""
    spec = layout.LISTS[list_name]
    shown = items if pii else [mask_personal(dict(i)) for i in items]
    rows = layout.table(spec, shown)
    body = layout.render(spec, rows, fmt)
    with db.transaction() as s:
        audit(s, str(actor), "export", list_name, "exported",
              after={"format": fmt, "filters": _filters(filters), "rows": len(rows) - 1,
                     "truncated": len(items) > MAX_ROWS, "masked": not pii})
    return ExportFile(body, layout.MEDIA[fmt], layout.file_name(spec, fmt), len(rows) - 1)
