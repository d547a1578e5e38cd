"""Campaign stories and updates: Markdown rendered safely (markdown-it-py, CommonMark).

Raw HTML in the text is shown as text, never as markup; links with unsafe schemes
(javascript:, vbscript:, file:, most data:) are refused by markdown-it's `validateLink`.
"""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def markdown_html(text: str) -> str:
    """HTML for `text`; safe to mark safe in a template."""
    return _renderer().render(text or "")
