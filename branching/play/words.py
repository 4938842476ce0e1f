"""Story text as plain lines: for the plain player, screen readers and pipes.

Story text is Markdown, written to be seen formatted. Read out raw, ``**Recording.**`` becomes
"star star Recording star star"; so the plain player prints the words without the markers.
Nothing here interprets the text as anything but text.

The Markdown is parsed by markdown-it-py (CommonMark, plus ``~~strikethrough~~``; raw HTML is
read as text): the parser Textual's own Markdown widget uses, tested against the CommonMark
suite and linear in the length of the text. Regular expressions with lazy quantifiers and
back-references were quadratic on a line of unclosed ``**`` (a 160 KB passage never showed).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: Leaf blocks: each becomes one or more output lines.
_LEAVES = {"paragraph_open", "heading_open", "fence", "code_block", "hr", "html_block"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # html=False: "<b>" is text in a story, shown as written (the full-screen player agrees).
    return MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def markdown_to_plain(text: str) -> str:
    """The words of a Markdown passage without its markers.

    >>> markdown_to_plain("# The Hut\\n\\n**Recording.** It is _cold_; see [map](http://x.test).")
    'The Hut\\n\\nRecording. It is cold; see map (http://x.test).'
    >>> markdown_to_plain("snake_case_name and 2 * 3 * 4 stay")
    'snake_case_name and 2 * 3 * 4 stay'
    >>> print(markdown_to_plain("> Said.\\n\\n- one\\n- two ~~old~~\\n\\n\\\\*lit\\\\* `co*de`"))
      Said.
    <BLANKLINE>
    - one
    - two old
    <BLANKLINE>
    *lit* co*de
    """
    tokens = _parser().parse(text)
    lines: list[str] = []
    prefixes: list[str] = []  # one per open blockquote or list item
    first_line_of_item = False
    item_marker = ""
    last_end: int | None = None
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "blockquote_open":
            prefixes.append("  ")
        elif kind == "list_item_open":
            marker = token.markup
            if token.info:  # an ordered item: its number, then "." or ")"
                marker = token.info + marker
            prefixes.append(" " * (len(marker) + 1))
            item_marker = marker + " "
            first_line_of_item = True
        elif kind in ("blockquote_close", "list_item_close"):
            prefixes.pop()
        elif kind in _LEAVES:
            start, end = token.map if token.map else (0, 0)
            if last_end is not None and start > last_end:
                lines.append("")  # the source had a blank line here
            last_end = end
            body = _leaf(token, tokens, index)
            indent = "".join(prefixes)
            for number, line in enumerate(body):
                if first_line_of_item and number == 0:
                    lines.append("".join(prefixes[:-1]) + item_marker + line)
                else:
                    lines.append(indent + line if line else line)
            first_line_of_item = False
    return "\n".join(lines)


def _leaf(token: Token, tokens: Sequence[Token], index: int) -> list[str]:
    """The lines of one leaf block."""
    if token.type in ("fence", "code_block", "html_block"):
        return token.content.rstrip("\n").split("\n")
    if token.type == "hr":
        return [""]
    # paragraph_open or heading_open: the inline token follows.
    inline = tokens[index + 1]
    return _inline(inline.children or []).split("\n")


def _inline(children: Sequence[Token]) -> str:
    parts: list[str] = []
    links: list[tuple[str, int, bool]] = []  # href, where its label starts, an autolink
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "image":
            parts.append(_inline(child.children or []))
        elif kind == "link_open":
            href = str(child.attrs.get("href", ""))
            links.append((href, len(parts), child.markup == "autolink"))
        elif kind == "link_close" and links:
            href, start, auto = links.pop()
            label = "".join(parts[start:])
            if not auto and label != href:
                parts.append(f" ({href})")
        # Openers and closers of emphasis, strong and strikethrough leave no trace.
    return "".join(parts)
