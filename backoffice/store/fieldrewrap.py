"""`xiaobao fields rewrap`, and the start-up check of the column keys.

Rewrapping moves every sealed column value (fieldseal) that names another key than the
current one of XIAOBAO_FIELDS_KEYS to the current key, in batches of one transaction each,
while the platform keeps serving: readers open values under any configured key, and a row
changed meanwhile (its value is no longer the one read) is left for the next run. The
plaintext, and so the keyed hashes, do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Column, Table, and_, select, type_coerce, update
from sqlalchemy import String as SqlString

from backoffice.store import fieldseal
from backoffice.store.db import Database
from backoffice.store.models import Base

BATCH = 2000
Progress = Callable[[str], None]


def sealed_columns() -> Iterator[tuple[Table, Column[str], str]]:
    """(table, column, kind) of every sealed column of the models."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, fieldseal.Sealed):
                yield table, column, column.type.kind


@dataclass
class Tally:
    values: int = 0
    changed: int = 0
    unchanged: int = 0
    #: changed by someone else between the read and the write: the next run takes them
    raced: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)


def _raw(column: Column[str]) -> object:
    return type_coerce(column, SqlString())  # the stored text, not opened


def rewrap_all(db: Database, progress: Progress | None = None,
               keys: fieldseal.FieldKeys | None = None) -> Tally:
    keys = keys or fieldseal.installed()
    tally = Tally()
    for table, column, kind in sealed_columns():
        pk = table.c.id
        last = 0
        while True:
            with db.transaction() as s:
                rows = s.execute(select(pk, _raw(column)).where(
                    pk > last, column.is_not(None)).order_by(pk).limit(BATCH)).all()
                if not rows:
                    break
                last = rows[-1][0]
                for row_id, stored in rows:
                    tally.values += 1
                    try:
                        moved = fieldseal.reseal(kind, stored, keys)
                    except fieldseal.SealError as exc:
                        tally.failed.append({"value": f"{table.name}.{column.name}#{row_id}",
                                             "reason": str(exc)})
                        continue
                    if moved is None:
                        tally.unchanged += 1
                        continue
                    done = s.execute(update(table).where(
                        and_(pk == row_id, _raw(column) == stored))
                        .values({column.name: type_coerce(moved, SqlString())}))
                    if done.rowcount == 1:
                        tally.changed += 1
                    else:
                        tally.raced += 1
            if progress is not None:
                progress(f"{table.name}.{column.name}: {tally.values} values, "
                         f"{tally.changed} changed")
    return tally


def check_keys(db: Database, keys: fieldseal.FieldKeys | None = None) -> str | None:
    """None when the configured keys open a sample of the stored values (the newest of each
    sealed column, and the lookup hash of a party agrees); else why not, naming no value."""
    keys = keys or fieldseal.installed()
    with db.read() as s:
        for table, column, kind in sealed_columns():
            stored = s.execute(select(_raw(column)).where(column.is_not(None))
                               .order_by(table.c.id.desc()).limit(1)).scalar()
            if stored is None:
                continue
            try:
                plain = fieldseal.unseal(kind, stored, keys)
            except fieldseal.UnknownKey as exc:
                return (f"{table.name}.{column.name} 的值以密钥 {exc.key_id!r} 加密，"
                        "XIAOBAO_FIELDS_KEYS 未列出该密钥")
            except fieldseal.SealError:
                return (f"{table.name}.{column.name} 的值无法以 XIAOBAO_FIELDS_KEYS 中的同名密钥"
                        "解密（密钥不对）")
            hashed = f"{column.name}_hash"
            if hashed in table.c and plain:
                found = s.execute(select(table.c[hashed]).where(
                    _raw(column) == stored)).scalar()
                if found is not None and found != fieldseal.keyed_hash(kind, plain, keys):
                    return (f"{table.name}.{hashed} 与 XIAOBAO_FIELDS_HASH_KEY 不符"
                            "（查找散列的密钥不对）")
    return None
