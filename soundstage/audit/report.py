"""Audit reports people read: `audit.json` (every figure) and `audit.html` (self-contained:
inline SVG plots, inline CSS, no script, no network), through the one export path.

    an audit's figures → Report (verdict, figures, tables, notes) → Exporter: audit.html, .json

Each audit turns its figures into a Report in `soundstage.audit.reports` (script, generator,
moderation). Plots need matplotlib (the `audit` extra); without it a page keeps its tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from soundstage.export import Exporter

__all__ = ["Figure", "Report", "Table", "pct", "render_html", "write_report"]


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


def write_report(exporter: Exporter, report: Report, prefix: str = "audit") -> list[str]:
    """Write PREFIX.json and PREFIX.html; returns the names written."""
    exporter.write_json(f"{prefix}.json", report.data)
    exporter.write_text(f"{prefix}.html", render_html(report))
    return [f"{prefix}.json", f"{prefix}.html"]
