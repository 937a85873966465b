"""Audit reports people read: `audit.json` (every figure) and `audit.html` (self-contained:
inline SVG plots, inline CSS, no script, no network), through the one export path.

    an audit's figures → Report (verdict, figures, tables, notes) → Exporter: audit.html, .json

Each audit turns its figures into a Report in `soundstage.audit.reports` (script, generator,
moderation). Plots need matplotlib (the `audit` extra); without it a page keeps its tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from soundstage.errors import SoundstageError
from soundstage.export import Exporter

__all__ = ["Figure", "Report", "Table", "pct", "print_pdf", "render_html", "write_report"]


@dataclass
class Figure:
    title: str
    svg: str  # an inline <svg> element
    alt: str  # what the picture shows, for screen readers and for the page without plots


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    kind: str  # "script", ...
    title: str
    verdict: str
    data: dict[str, Any]  # what audit.json holds
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    method: str = ""


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_html(report: Report) -> str:
    env = Environment(
        loader=PackageLoader("soundstage.audit", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("audit.html").render(report=report)


def write_report(
    exporter: Exporter, report: Report, prefix: str = "audit", pdf: bool = False
) -> list[str]:
    """Write PREFIX.json and PREFIX.html (and PREFIX.pdf); returns the names written."""
    html = render_html(report)
    printed = print_pdf(html) if pdf else b""  # first, so a missing browser writes nothing
    exporter.write_json(f"{prefix}.json", report.data)
    exporter.write_text(f"{prefix}.html", html)
    if not pdf:
        return [f"{prefix}.json", f"{prefix}.html"]
    exporter.write_bytes(f"{prefix}.pdf", printed)
    return [f"{prefix}.json", f"{prefix}.html", f"{prefix}.pdf"]


def print_pdf(html: str) -> bytes:
    """The page printed to A4 by headless Chromium (Playwright drives the browser the
    system has: $SOUNDSTAGE_CHROMIUM, else /usr/bin/chromium; nothing is downloaded). The
    page is self-contained, so printing needs no network."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise SoundstageError(
            "--pdf needs playwright", hint="pip install 'soundstage[pdf]' and a Chromium"
        ) from None
    browser = os.environ.get("SOUNDSTAGE_CHROMIUM", "/usr/bin/chromium")
    if not Path(browser).exists():
        raise SoundstageError(
            f"--pdf needs Chromium: {browser} does not exist",
            hint="apt-get install chromium, or set SOUNDSTAGE_CHROMIUM to a Chromium binary",
        )
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=browser)
            page = chromium.new_page()
            page.set_content(html, wait_until="load")
            data = page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
            )
            chromium.close()
    except Error as exc:
        raise SoundstageError(
            f"--pdf: Chromium could not print the report ({exc.message})"
        ) from None
    return data
