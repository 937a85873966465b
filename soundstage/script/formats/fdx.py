"""Final Draft XML (.fdx) import and export.

Paragraph types map one to one where Final Draft has the element: Scene Heading (scene
number in `Number`), Action, Character, Parenthetical, Dialogue, Transition, Lyrics.
Centered text is an Action with `Alignment="Center"`; dual dialogue wraps both speeches in
`<Paragraph><DualDialogue>…</DualDialogue></Paragraph>`; a page break is
`StartsNewPage="Yes"` on the next paragraph (an empty Action carries it when nothing
follows). Fountain emphasis becomes `<Text Style="Bold+Italic+Underline">` runs and back.

Sections, synopses, notes and boneyard use Final Draft's outline elements, which belong to
the script's structure rather than its printed text: a section of depth N is `Outline N`, a
synopsis is `Outline Body`, and a note or boneyard is an `Outline Body` whose text keeps its
Fountain brackets (`[[…]]`, `/* … */`), so the kind survives a trip through Final Draft
without inventing attributes it would drop. (Script Notes were not used: they anchor to a
range inside another paragraph, while here a note is a paragraph of its own.)

Title page: Final Draft has free-form centred and aligned paragraphs, not keys. Title,
Credit, Author and Source are written centred, Draft date right-aligned, Contact and any
other key left-aligned ("Key: value" for keys other than Contact), each entry a block of one
paragraph per line with an empty paragraph between blocks. Reading inverts that: the first
centred block is the Title, a "Written by"-style block the Credit, a "Based on" block the
Source, another centred block the Author; a right-aligned block the Draft date; a
left-aligned block "Key: value" that key, otherwise Contact.

What FDX cannot carry, so a round trip loses it: `forced` (FDX types are explicit, so
nothing needs forcing; read as False); the key spelling "Authors" (read back as "Author")
and title-page keys in an order the reader cannot tell apart; a dual cue with no speech
before it (written as a plain cue); elements with empty text (dropped on reading); a
synopsis whose whole text is `[[…]]` or `/* … */` (read as a note / boneyard); emphasis
markup in a non-canonical order (`_**x**_` comes back as `**_x_**`); characters XML cannot
hold (control characters, dropped on writing).

Parsing uses the standard library's expat with any DOCTYPE refused: FDX never needs one, and
refusing it shuts out entity-expansion and external-entity tricks in uploaded files without
an extra dependency (expat itself has billion-laughs limits since 2.4).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from soundstage.errors import ExportError, FormatError
from soundstage.fileio import write_bytes_atomic
from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.formats.emphasis import (
    BOLD,
    ITALIC,
    UNDERLINE,
    Styled,
    parse_emphasis,
    to_markup,
)

_TYPE_OF = {
    Kind.SCENE_HEADING: "Scene Heading",
    Kind.ACTION: "Action",
    Kind.CHARACTER: "Character",
    Kind.PARENTHETICAL: "Parenthetical",
    Kind.DIALOGUE: "Dialogue",
    Kind.TRANSITION: "Transition",
    Kind.LYRICS: "Lyrics",
    Kind.CENTERED: "Action",
    Kind.SYNOPSIS: "Outline Body",
    Kind.NOTE: "Outline Body",
    Kind.BONEYARD: "Outline Body",
}
_KIND_OF = {
    "Scene Heading": Kind.SCENE_HEADING,
    "Action": Kind.ACTION,
    "Character": Kind.CHARACTER,
    "Parenthetical": Kind.PARENTHETICAL,
    "Dialogue": Kind.DIALOGUE,
    "Transition": Kind.TRANSITION,
    "Lyrics": Kind.LYRICS,
    "New Act": Kind.CENTERED,
    "End of Act": Kind.CENTERED,
}
_STYLE_NAMES = ((BOLD, "Bold"), (ITALIC, "Italic"), (UNDERLINE, "Underline"))
_SPEECH = (Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRICS)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# -- writing ---------------------------------------------------------------------------------


def write_fdx(doc: Document) -> bytes:
    """The document as FDX bytes (UTF-8, indented)."""
    root = ET.Element("FinalDraft", {"DocumentType": "Script", "Template": "No", "Version": "5"})
    content = ET.SubElement(root, "Content")
    for para in _body_paragraphs(doc.elements):
        content.append(para)
    if doc.title_page:
        page = ET.SubElement(ET.SubElement(root, "TitlePage"), "Content")
        for para in _title_paragraphs(doc.title_page):
            page.append(para)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def save_fdx(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write atomically: a crash never leaves a half-written script behind."""
    save_bytes(path, write_fdx(doc))


def save_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`."""
    target = Path(path)
    try:
        write_bytes_atomic(target, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ExportError(
            f"cannot write {target}: {reason}",
            hint="check that the folder exists and is writable, and the path is not a folder",
        ) from None


def _paragraph(ptype: str, text: str, **attrs: str) -> ET.Element:
    para = ET.Element("Paragraph", {"Type": ptype, **attrs})
    text = _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    for chunk, style in parse_emphasis(text).spans():
        run = ET.SubElement(para, "Text")
        names = [name for flag, name in _STYLE_NAMES if style & flag]
        if names:
            run.set("Style", "+".join(names))
        run.text = chunk
    return para


def _element_paragraph(el: Element) -> ET.Element:
    if el.kind is Kind.SECTION:
        return _paragraph(f"Outline {max(1, el.depth)}", el.text)
    text = {Kind.NOTE: f"[[{el.text}]]", Kind.BONEYARD: f"/*{el.text}*/"}.get(el.kind, el.text)
    para = _paragraph(_TYPE_OF[el.kind], text)
    if el.kind is Kind.CENTERED:
        para.set("Alignment", "Center")
    if el.kind is Kind.SCENE_HEADING and el.scene_number:
        para.set("Number", el.scene_number)
    return para


def _body_paragraphs(elements: list[Element]) -> list[ET.Element]:
    """Paragraphs in order; speeches are grouped first so a dual cue can wrap its pair."""
    out: list[ET.Element] = []
    last_speech: list[ET.Element] | None = None  # the previous speech, if it is the last item
    pending_break = False
    i = 0
    while i < len(elements):
        el = elements[i]
        i += 1
        if el.kind is Kind.PAGE_BREAK:
            if pending_break:
                out.append(ET.Element("Paragraph", {"Type": "Action", "StartsNewPage": "Yes"}))
            pending_break = True
            last_speech = None
            continue
        group = [_element_paragraph(el)]
        if el.kind is Kind.CHARACTER:
            while i < len(elements) and elements[i].kind in _SPEECH:
                group.append(_element_paragraph(elements[i]))
                i += 1
        if el.kind is Kind.CHARACTER and el.dual and last_speech is not None:
            wrapper = ET.Element("Paragraph")
            dual = ET.SubElement(wrapper, "DualDialogue")
            first = out.index(last_speech[0])
            for para in out[first:]:
                dual.append(para)
            dual.extend(group)
            if last_speech[0].get("StartsNewPage"):
                del last_speech[0].attrib["StartsNewPage"]
                wrapper.set("StartsNewPage", "Yes")
            del out[first:]
            out.append(wrapper)
            last_speech = None
            continue
        if pending_break:
            group[0].set("StartsNewPage", "Yes")
            pending_break = False
        out.extend(group)
        last_speech = group if el.kind is Kind.CHARACTER else None
    if pending_break:
        out.append(ET.Element("Paragraph", {"Type": "Action", "StartsNewPage": "Yes"}))
    return out


_CENTRED = ("title", "credit", "author", "authors", "source")


def _title_paragraphs(entries: list[tuple[str, str]]) -> list[ET.Element]:
    out: list[ET.Element] = []
    for key, value in entries:
        name = key.strip().lower()
        if name in _CENTRED:
            align = "Center"
        elif name == "draft date":
            align = "Right"
        else:
            align = "Left"
            if name != "contact":
                value = f"{key.strip()}: {value}"
        if out:
            out.append(ET.Element("Paragraph", {"Type": "General", "Alignment": align}))
        for line in value.split("\n"):
            out.append(_paragraph("General", line, Alignment=align))
    return out


# -- reading ---------------------------------------------------------------------------------


def read_fdx(path: str | os.PathLike[str]) -> Document:
    """Read a .fdx file; any problem is a one-line `FormatError` naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FormatError.at(path, None, f"cannot read: {exc.strerror or exc}") from None
    return parse_fdx(data, source=str(path))


class _NoDoctype(ET.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _DoctypeFound


class _DoctypeFound(Exception):
    pass


def parse_fdx(data: bytes, *, source: str = "<fdx>") -> Document:
    """Bytes → Document. Unknown elements and attributes are ignored, unknown types are Action."""
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        where = exc.position[0] if exc.position else None
        raise FormatError.at(source, where, f"not well-formed XML: {_reason(exc)}") from None
    except LookupError as exc:  # an unknown encoding in <?xml ...?> (benchmarks/fuzz_parsers.py)
        raise FormatError.at(source, 1, f"unknown text encoding: {exc}") from None
    except _DoctypeFound:
        at = data.find(b"<!DOCTYPE")
        line = data[:at].count(b"\n") + 1 if at >= 0 else None
        what = "a DOCTYPE is not allowed in FDX (it can hide entity tricks)"
        raise FormatError.at(source, line, what) from None
    if root.tag != "FinalDraft":
        raise FormatError.at(
            source,
            None,
            f"not a Final Draft file: the root element is <{root.tag}>, not <FinalDraft>",
            hint="export the script from Final Draft as .fdx",
        )
    elements: list[Element] = []
    content = root.find("Content")
    for para in content.findall("Paragraph") if content is not None else []:
        _read_paragraph(para, elements)
    title = root.find("TitlePage/Content")
    title_page = _read_title_page(title.findall("Paragraph")) if title is not None else []
    return Document(title_page=title_page, elements=elements)


def _reason(exc: ET.ParseError) -> str:
    return re.sub(r":\s*line \d+, column \d+$", "", str(exc))


def _text(para: ET.Element) -> str:
    styled = Styled()
    for run in para.findall("Text"):
        flags = 0
        for name in (run.get("Style") or "").split("+"):
            flags |= {"Bold": BOLD, "Italic": ITALIC, "Underline": UNDERLINE}.get(name, 0)
        styled += Styled.plain(run.text or "", flags)
    return to_markup(styled)


def _read_paragraph(para: ET.Element, out: list[Element]) -> None:
    if para.get("StartsNewPage") == "Yes":
        out.append(Element(Kind.PAGE_BREAK))
    dual = para.find("DualDialogue")
    if dual is not None:
        cues = 0
        for inner in dual.findall("Paragraph"):
            if inner.get("Type") == "Character":
                cues += 1
            _read_paragraph(inner, out)
            if cues > 1 and out and out[-1].kind is Kind.CHARACTER and not out[-1].dual:
                out[-1] = Element(Kind.CHARACTER, out[-1].text, dual=True)
        return
    element = _element(para.get("Type") or "Action", para.get("Alignment"), _text(para))
    if element is None:
        return
    if element.kind is Kind.SCENE_HEADING and para.get("Number"):
        element = Element(Kind.SCENE_HEADING, element.text, scene_number=para.get("Number"))
    out.append(element)


def _element(ptype: str, alignment: str | None, text: str) -> Element | None:
    if not text:
        return None
    outline = re.fullmatch(r"Outline (\d+)", ptype)
    if outline:
        return Element(Kind.SECTION, text, depth=int(outline.group(1)))
    if ptype in ("Outline Body", "General"):
        if text.startswith("[[") and text.endswith("]]") and len(text) >= 4:
            return Element(Kind.NOTE, text[2:-2])
        if text.startswith("/*") and text.endswith("*/") and len(text) >= 4:
            return Element(Kind.BONEYARD, text[2:-2])
        if ptype == "Outline Body":
            return Element(Kind.SYNOPSIS, text)
    kind = _KIND_OF.get(ptype, Kind.ACTION)
    if kind is Kind.ACTION and alignment == "Center":
        kind = Kind.CENTERED
    return Element(kind, text)


_CREDIT = re.compile(r"(written|screenplay|teleplay|story|created)?\s*(and\s+\w+\s+)?by\b.*", re.I)
_SOURCE = re.compile(r"(based on|adapted from|inspired by)\b", re.I)
_KEYED = re.compile(r"([A-Z][\w'-]*(?: [\w'-]+){0,2}):\s?(.*)", re.S)


def _read_title_page(paras: list[ET.Element]) -> list[tuple[str, str]]:
    blocks: list[tuple[str, list[str]]] = []  # (alignment, lines); empty paragraphs separate
    open_block = False
    for para in paras:
        text = _text(para)
        align = para.get("Alignment") or "Left"
        if not text.strip():
            open_block = False
        elif open_block and blocks[-1][0] == align:
            blocks[-1][1].append(text)
        else:
            blocks.append((align, [text]))
            open_block = True
    entries: list[tuple[str, str]] = []
    for align, lines in blocks:
        value = "\n".join(lines)
        seen = {k for k, _ in entries}
        if align == "Center":
            if "Title" not in seen:
                key = "Title"
            elif _CREDIT.fullmatch(value) and "Credit" not in seen:
                key = "Credit"
            elif _SOURCE.match(value) or "Author" in seen:
                key = "Source"
            else:
                key = "Author"
        elif align == "Right":
            key = "Draft date"
        else:
            keyed = _KEYED.fullmatch(value)
            key, value = (keyed.group(1), keyed.group(2)) if keyed else ("Contact", value)
        entries.append((key, value))
    return entries
