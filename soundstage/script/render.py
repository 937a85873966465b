"""Screenplay → Document: how the structured draft reads on the page.

Choices, each for a reason a reader would notice:
- the title page carries the AI disclosure ("Written by NAME with soundstage (MODEL)") in
  real title-page keys, so every parser reads it (Dramatron's free-text credit did not parse);
- each structure beat opens a `#` section and each scene's beat is a `=` synopsis: outline
  tools show them, the printed page does not;
- a place's description is printed the first time the place appears, and a character's
  description the first time they are present, name in CAPS as production expects.
"""

from __future__ import annotations

import re

from soundstage.script.formats.elements import Document, Element, Kind
from soundstage.script.types import Screenplay


def disclosure(screenplay: Screenplay) -> str:
    who = screenplay.author or "Anonymous"
    model = screenplay.model or "unknown model"
    return f"{who} with soundstage ({model})"


def ai_notice(screenplay: Screenplay) -> str:
    """An explicit AI-use notice for printed title pages (EU AI Act Art. 50-style marking)."""
    return f"Co-written with an AI system: soundstage ({screenplay.model or 'unknown model'})"


def introduce(name: str, description: str) -> str:
    """Action line introducing a character: 'ADA QUILL (30s), a retired keeper'."""
    age = re.match(r"\((\w+)\)\s*", description)
    if age:
        return f"{name.upper()} ({age.group(1)}), {description[age.end() :]}"
    return f"{name.upper()}, {description}"


def title_page(screenplay: Screenplay, draft_date: str = "") -> list[tuple[str, str]]:
    page = [
        ("Title", screenplay.title or "Untitled"),
        ("Credit", "Written by"),
        ("Author", disclosure(screenplay)),
    ]
    if screenplay.logline:
        page.append(("Notes", screenplay.logline))
    if draft_date:
        page.append(("Draft date", draft_date))
    return page


def heading(place_name: str, interior: bool, time: str) -> str:
    return f"{'INT' if interior else 'EXT'}. {place_name.upper()} - {time.upper()}"


def render(screenplay: Screenplay, *, draft_date: str = "") -> Document:
    doc = Document(title_page=title_page(screenplay, draft_date))
    out = doc.elements
    seen_places: set[str] = set()
    seen_people: set[str] = set()
    section = ""
    for number, scene in enumerate(screenplay.scenes, 1):
        if scene.plot_element and scene.plot_element != section:
            section = scene.plot_element
            out.append(Element(Kind.SECTION, section, depth=1))
        place = screenplay.place(scene.place)
        interior = place.interior if place else True
        out.append(
            Element(Kind.SCENE_HEADING, heading(scene.place, interior, scene.time), str(number))
        )
        if scene.beat:
            out.append(Element(Kind.SYNOPSIS, scene.beat))
        if place and place.description and place.name not in seen_places:
            out.append(Element(Kind.ACTION, place.description))
        seen_places.add(scene.place)
        for char_id in scene.characters:
            if char_id in seen_people:
                continue
            seen_people.add(char_id)
            person = screenplay.cast_member(char_id)
            if person.description:
                out.append(Element(Kind.ACTION, introduce(person.name, person.description)))
        dialogue = screenplay.dialogue.get(scene.id)
        if dialogue is None:
            continue
        if dialogue.action:
            out.append(Element(Kind.ACTION, dialogue.action))
        for line in dialogue.lines:
            out.append(Element(Kind.CHARACTER, screenplay.cast_member(line.speaker).cue))
            if line.parenthetical:
                out.append(Element(Kind.PARENTHETICAL, f"({line.parenthetical})"))
            out.append(Element(Kind.DIALOGUE, line.text))
            if line.action:
                out.append(Element(Kind.ACTION, line.action))
    out.append(Element(Kind.CENTERED, "THE END"))
    return doc
