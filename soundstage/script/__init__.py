"""Screenplays: the writers' room (domain objects → generators) and industry formats.

Two representations, one per job:

- `formats.elements.Document` is the *format* model: a title page plus a flat list of typed
  paragraphs (scene heading, action, character cue, dialogue, ...), exactly what Fountain,
  FDX and PDF express. It lives in the `formats` subpackage with the readers and writers:
  every reader produces one and every writer consumes one, so any format converts to any
  other through it (`soundstage write convert`).
- The writers' room's structured `Screenplay` (logline, characters with ids, scenes with
  beats, dialogue lines by speaker id) renders *to* a Document for export.
"""
