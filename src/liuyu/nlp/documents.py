"""Knowledge documents to chunks: Markdown, plain text, HTML, Word (.docx) and PDF.

Each reader turns a file into sections (the heading path and the paragraphs under it); ``chunk``
then packs paragraphs into pieces of at most ``MAX_CHUNK`` characters, cutting long paragraphs at
sentence ends, so that every suggestion is short enough to read and insert, and still names the
article and heading it came from.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from liuyu.domain.errors import InvalidInput

__all__ = ["KINDS", "MAX_CHUNK", "Chunk", "Document", "chunk", "kind_of", "read_document"]

MAX_CHUNK = 400
KINDS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
}
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\.)\s")


@dataclass(frozen=True, slots=True)
class Chunk:
    heading: str  # "退换货 › 七天无理由", empty before the first heading
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    kind: str
    chunks: list[Chunk]


def kind_of(name: str) -> str:
    suffix = PurePath(name).suffix.lower()
    if suffix not in KINDS:
        raise InvalidInput(f"unsupported file type; use one of {', '.join(sorted(KINDS))}", field="file", value=name)
    return KINDS[suffix]


def read_document(name: str, data: bytes) -> Document:
    """Read one file by its name's suffix; a file that cannot be read raises InvalidInput naming it."""
    kind = kind_of(name)
    try:
        sections, title = _READERS[kind](data)
    except InvalidInput:
        raise
    except Exception as exc:  # a broken .docx/.pdf raises the parser's own errors; name the file instead
        raise InvalidInput(f"cannot read this {kind} file: {exc}", field="file", value=name) from exc
    chunks = chunk(sections)
    if not chunks:
        raise InvalidInput("has no text", field="file", value=name)
    return Document(title=(title or PurePath(name).stem).strip()[:300], kind=kind, chunks=chunks)


Section = tuple[list[str], list[str]]  # (heading path, paragraphs)


def chunk(sections: list[Section]) -> list[Chunk]:
    out: list[Chunk] = []
    for path, paragraphs in sections:
        heading = " › ".join(path)[:500]
        pieces = [p for para in paragraphs for p in _split_long(" ".join(para.split()))]
        current = ""
        for piece in pieces:
            if current and len(current) + len(piece) + 1 > MAX_CHUNK:
                out.append(Chunk(heading, current))
                current = ""
            current = f"{current}\n{piece}" if current else piece
        if current:
            out.append(Chunk(heading, current))
    return out


def _split_long(paragraph: str) -> list[str]:
    if len(paragraph) <= MAX_CHUNK:
        return [paragraph] if paragraph else []
    parts, current = [], ""
    for sentence in (s for s in _SENTENCE_END.split(paragraph) if s):
        while len(sentence) > MAX_CHUNK:  # one sentence longer than a chunk: cut it hard
            parts.append(sentence[:MAX_CHUNK])
            sentence = sentence[MAX_CHUNK:]
        if current and len(current) + len(sentence) > MAX_CHUNK:
            parts.append(current.strip())
            current = ""
        current += sentence
    if current.strip():
        parts.append(current.strip())
    return parts


class _Outline:
    """Collects paragraphs under the current heading path."""

    def __init__(self) -> None:
        self.sections: list[Section] = [([], [])]
        self.path: list[tuple[int, str]] = []
        self.title = ""

    def heading(self, level: int, text: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        if level == 1 and not self.title:
            self.title = text
        self.path = [(lvl, t) for lvl, t in self.path if lvl < level] + [(level, text)]
        self.sections.append(([t for _, t in self.path], []))

    def paragraph(self, text: str) -> None:
        if any(ch.isalnum() for ch in text):  # lines of only rules and marks ("---", "#") say nothing
            self.sections[-1][1].append(text.strip())


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("is neither UTF-8 nor GB18030 text", field="file")


def _blocks(lines: list[str]) -> list[str]:
    """Blank-line separated blocks."""
    blocks, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


def _read_markdown(data: bytes) -> tuple[list[Section], str]:
    outline = _Outline()
    pending: list[str] = []
    for line in _decode(data).splitlines():
        found = _MD_HEADING.match(line)
        if found:
            for block in _blocks(pending):
                outline.paragraph(block)
            pending = []
            outline.heading(len(found.group(1)), found.group(2))
        else:
            pending.append(re.sub(r"^\s*(?:[-*+]|\d+\.)\s+", "", line))
    for block in _blocks(pending):
        outline.paragraph(block)
    return outline.sections, outline.title


def _read_text(data: bytes) -> tuple[list[Section], str]:
    return [([], _blocks(_decode(data).splitlines()))], ""


class _HtmlReader(HTMLParser):
    BLOCKS = frozenset({"p", "div", "li", "td", "th", "br", "section", "article", "tr", "dd", "dt", "blockquote"})
    SKIP = frozenset({"script", "style", "head", "nav", "footer", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outline = _Outline()
        self.text: list[str] = []
        self.level = 0
        self.skipping = 0
        self.page_title = ""
        self.in_title = False

    def flush(self) -> None:
        text = "".join(self.text)
        self.text = []
        if self.level:
            self.outline.heading(self.level, text)
        else:
            self.outline.paragraph(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        if tag == "title":
            self.in_title = True
        if re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.level = int(tag[1])
        elif tag in self.BLOCKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        if tag == "title":
            self.in_title = False
        if re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.level = 0
        elif tag in self.BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.page_title += data
        elif not self.skipping:
            self.text.append(data)


def _read_html(data: bytes) -> tuple[list[Section], str]:
    reader = _HtmlReader()
    reader.feed(_decode(data))
    reader.close()
    reader.flush()
    return reader.outline.sections, reader.outline.title or " ".join(reader.page_title.split())


def _read_docx(data: bytes) -> tuple[list[Section], str]:
    import docx

    outline = _Outline()
    document = docx.Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        found = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if style == "Title":
            outline.heading(1, paragraph.text)
        elif found:
            outline.heading(int(found.group(1)), paragraph.text)
        else:
            outline.paragraph(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            outline.paragraph(" | ".join(cell.text.strip() for cell in row.cells if cell.text.strip()))
    title = document.core_properties.title or outline.title
    return outline.sections, title


def _read_pdf(data: bytes) -> tuple[list[Section], str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    sections: list[Section] = []
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        paragraphs = _blocks(text.splitlines()) if "\n\n" in text else [line for line in text.splitlines()]
        sections.append(([f"第{number}页"], [p for p in paragraphs if p.strip()]))
    title = str((reader.metadata or {}).get("/Title") or "")
    return sections, title


_READERS = {
    "markdown": _read_markdown,
    "text": _read_text,
    "html": _read_html,
    "docx": _read_docx,
    "pdf": _read_pdf,
}
