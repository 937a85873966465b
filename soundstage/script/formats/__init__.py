"""Screenplay file formats: the format model, Fountain, Final Draft FDX and the printed page.

- `elements`: the format model, a title page plus a flat list of typed paragraphs (`Document`).
- `emphasis`: Fountain's inline emphasis markup ↔ styled runs, for FDX and the PDF.
- `fountain`: Fountain 1.1 files, strict UTF-8 in and atomic replace out.
- `fountain_read`: Fountain 1.1 text → `Document`.
- `fountain_write`: `Document` → Fountain 1.1 text.
- `fdx`: Final Draft XML (.fdx) import and export.
- `layout`: industry page layout, a `Document` → pages of positioned lines (no PDF library).
- `pdf`: industry-layout PDF export, painting the pages `layout` computed.
- `fonts/`: Courier Prime (SIL OFL 1.1), embedded by `pdf`.

Nothing here imports the writers' room; `script.render` turns its `Screenplay` into a `Document`.
"""
