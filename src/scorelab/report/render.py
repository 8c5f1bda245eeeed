"""A report as a list of blocks, rendered twice: GitHub Markdown and one HTML page.

Keeping the content in blocks means README.md and index.html always say the same
thing. The HTML is self-contained (inline CSS, no script, no network): images and
media are relative links, so the page opens from disk.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

MISSING = "–"  # a cell with no value, in every table of the report


def safe_name(name: str) -> str:
    """A name usable in a file name (figures, media): anything else becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


@dataclass(frozen=True)
class Heading:
    """A section title; level 1 is the page title. Its anchor is :func:`slug` of its text."""

    level: int
    text: str

    @property
    def anchor(self) -> str:
        return slug(self.text)


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.

    The HTML page gives its headings the same ids, so one ``#anchor`` link works in
    both renderings.
    """
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


@dataclass(frozen=True)
class Paragraph:
    """Plain text (escaped in HTML)."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells; a cell may be a (text, href) link instead."""

    header: tuple[str, ...]
    rows: tuple[tuple[str | tuple[str, str], ...], ...]


@dataclass(frozen=True)
class Image:
    """A picture; ``src`` is relative to the report folder."""

    src: str
    alt: str


@dataclass(frozen=True)
class Links:
    """A list of (text, relative href)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Samples:
    """Pieces to listen to: (name, relative WAV href, relative MIDI href) per row.

    One row per piece keeps a piece's name, its sound and its score together, so the
    reader knows which panel of a picture they are hearing. Markdown links the WAV
    (GitHub has no player); HTML puts a player there.
    """

    rows: tuple[tuple[str, str, str], ...]  # an empty MIDI href (audio models): a dash


NO_LINK = MISSING


Block = Heading | Paragraph | Table | Image | Links | Samples
SAMPLES_HEADER = ("sample", "audio", "MIDI")

CSS = """
body { font-family: sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
td.num { text-align: right; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
ul.media { list-style: none; padding-left: 0; }
ul.media li { margin: 0.2rem 0; }
audio { height: 2rem; vertical-align: middle; }
table.samples td { vertical-align: middle; }
""".strip()


def href(path: str) -> str:
    """Percent-encode a relative POSIX path for a link (``/`` kept)."""
    return quote(path, safe="/.-_~")


def is_number(text) -> bool:
    """True for a cell that reads as a number (or the missing-value dash): right-aligned."""
    if not isinstance(text, str):
        return False
    if text in (MISSING, "-"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numeric_columns(table: Table) -> list[bool]:
    """Per column: does every body cell read as a number?"""
    columns = range(len(table.header))
    return [bool(table.rows) and all(is_number(row[j]) for row in table.rows) for j in columns]


def _target(link: str) -> str:
    """A link's href: an in-page ``#anchor`` as it is, a path percent-encoded."""
    return link if link.startswith("#") else href(link)


def _md_cell(text) -> str:
    if isinstance(text, tuple):
        label, link = text
        return f"[{_md_cell(label)}]({_target(link)})"
    return text.replace("|", "\\|").replace("\n", " ")


def _html_cell(text) -> str:
    if isinstance(text, tuple):
        label, link = text
        return f'<a href="{html.escape(_target(link))}">{html.escape(label)}</a>'
    return html.escape(text)


def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown for the blocks, ending in one newline."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(_md_cell(c) for c in block.header) + " |"]
            lines.append("|" + "|".join("---:" if n else "---" for n in _numeric_columns(block)) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Image):
            out.append(f"![{block.alt}]({href(block.src)})")
        elif isinstance(block, Links):
            out.append("\n".join(f"- [{text}]({_target(link)})" for text, link in block.items))
        elif isinstance(block, Samples):
            lines = ["| " + " | ".join(SAMPLES_HEADER) + " |", "|---|---|---|"]
            lines += [
                f"| {_md_cell(name)} | [{_md_cell(_file_name(wav))}]({href(wav)}) "
                f"| {f'[{_md_cell(_file_name(mid))}]({href(mid)})' if mid else NO_LINK} |"
                for name, wav, mid in block.rows
            ]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _file_name(link: str) -> str:
    return link.rsplit("/", 1)[-1]


def _html_block(block: Block) -> str:
    esc = html.escape
    if isinstance(block, Heading):
        return f'<h{block.level} id="{esc(block.anchor)}">{esc(block.text)}</h{block.level}>'
    if isinstance(block, Paragraph):
        return f"<p>{esc(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{esc(c)}</th>" for c in block.header)
        cls = ['<td class="num">' if n else "<td>" for n in _numeric_columns(block)]
        body = "\n".join(
            "<tr>" + "".join(f"{cls[j]}{_html_cell(c)}</td>" for j, c in enumerate(row)) + "</tr>"
            for row in block.rows
        )
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    if isinstance(block, Image):
        return f'<p><img src="{esc(href(block.src))}" alt="{esc(block.alt)}"></p>'
    if isinstance(block, Samples):
        head = "".join(f"<th>{esc(c)}</th>" for c in SAMPLES_HEADER)
        body = "\n".join(
            f"<tr><td>{esc(name)}</td>"
            f'<td><audio controls preload="none" src="{esc(href(wav))}"></audio></td>'
            + (
                f'<td><a href="{esc(href(mid))}">{esc(_file_name(mid))}</a></td></tr>'
                if mid
                else f"<td>{NO_LINK}</td></tr>"
            )
            for name, wav, mid in block.rows
        )
        return f'<table class="samples">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    items = [f'<li><a href="{esc(_target(link))}">{esc(text)}</a></li>' for text, link in block.items]
    return '<ul class="media">\n' + "\n".join(items) + "\n</ul>"


def to_html(blocks: Sequence[Block], title: str) -> str:
    """One self-contained HTML page for the blocks (inline CSS, no scripts)."""
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
