"""The privacy notice (隐私政策/个人信息处理规则): the full text the bot's short notice links to,
served at the platform's public `/privacy` page.

The text is the operator's: a file (XIAOBAO_PRIVACY_NOTICE_FILE) of plain UTF-8 text in which
`## ` starts a heading, `- ` an item and a blank line a paragraph; the packaged default is
`templates/privacy_notice.txt`. The data-protection contact (XIAOBAO_PRIVACY_CONTACT) closes it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

DEFAULT_NOTICE = Path(__file__).parent / "templates" / "privacy_notice.txt"
DEFAULT_CONTACT = "个人信息保护负责人：请拨打客服电话 95500 转“个人信息保护”，或到就近服务网点办理"
MAX_NOTICE = 200_000  # characters: a notice, not a book


def read_notice(path: Path | None) -> str:
    """The notice text of `path` (the packaged default when None). A configured file that
    cannot be read stops the platform at start-up rather than serving no notice."""
    source = path or DEFAULT_NOTICE
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"XIAOBAO_PRIVACY_NOTICE_FILE: cannot read {source}: {exc}") from exc
    if not text.strip() or len(text) > MAX_NOTICE:
        raise ValueError(f"XIAOBAO_PRIVACY_NOTICE_FILE: {source} is empty or too long")
    return text


def _blocks(text: str) -> list[str]:
    out: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{escape(''.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            out.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            if para:
                flush()
            items.append(line[2:])
        else:
            if items:
                flush()
            para.append(line)
    flush()
    return out


def render_privacy_page(text: str, contact: str) -> str:
    """The notice as a page (Chinese, escaped: the operator's text is never markup)."""
    body = "\n".join(_blocks(text))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>个人信息保护政策</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:1em auto;padding:0 1em;
line-height:1.7;color:#222}}h1{{font-size:1.4em}}h2{{font-size:1.1em;margin-top:1.4em}}</style>
</head><body>
<h1>个人信息保护政策</h1>
{body}
<h2>联系我们</h2>
<p id="privacy-contact">{escape(contact)}</p>
</body></html>
"""
