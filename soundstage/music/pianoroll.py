"""A piano-roll picture of a piece: pitch up, time across, one colour per track, as SVG.

What a composer reads at a glance in a DAW: where the melody sits over the harmony, how
dense each part is, where the phrases breathe. Each note is a rectangle from its start to
its end on its pitch's row; drum notes are left out (their pitches are instruments, not
notes). The picture is self-contained SVG 1.1 with presentation attributes only (no script,
no style sheet, no external reference), so it is safe to serve as an image.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from soundstage.music.types import Piece, duration

__all__ = ["piano_roll_svg"]

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Track colours by role name, then a fallback cycle: readable on white, distinct in greyscale.
COLOURS = {"melody": "#c2410c", "harmony": "#2563eb", "pad": "#94a3b8", "bass": "#15803d"}
CYCLE = ("#9333ea", "#0891b2", "#a16207", "#be185d")
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 34, 18, 16


def _colour(name: str, index: int) -> str:
    lowered = name.lower()
    for role, colour in COLOURS.items():
        if role in lowered:
            return colour
    return CYCLE[index % len(CYCLE)]


def _grid(low: int, high: int, row: float, top: float, width: float) -> list[str]:
    """Shaded black-key rows and a labelled line at every C."""
    out = []
    for pitch in range(low, high + 1):
        y = top + (high - pitch) * row
        if pitch % 12 in (1, 3, 6, 8, 10):
            out.append(
                f'<rect x="{MARGIN_LEFT}" y="{y:.2f}" width="{width:.2f}" height="{row:.2f}" '
                'fill="#eef0f4"/>'
            )
        if pitch % 12 == 0:
            out.append(
                f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + width:.2f}" y1="{y + row:.2f}" '
                f'y2="{y + row:.2f}" stroke="#c5c9d3" stroke-width="0.6"/>'
                f'<text x="{MARGIN_LEFT - 4}" y="{y + row:.2f}" font-size="9" text-anchor="end" '
                f'font-family="sans-serif" fill="#5b6270">{pitch_name(pitch)}</text>'
            )
    return out


def _seconds_axis(seconds: float, scale: float, bottom: float) -> list[str]:
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120) if seconds / s <= 12), 300)
    out = []
    tick = 0
    while tick <= seconds + 1e-9:
        x = MARGIN_LEFT + tick * scale
        out.append(
            f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{MARGIN_TOP}" y2="{bottom:.2f}" '
            'stroke="#dfe2e8" stroke-width="0.5"/>'
            f'<text x="{x:.2f}" y="{bottom + 12:.2f}" font-size="9" text-anchor="middle" '
            f'font-family="sans-serif" fill="#5b6270">{tick}s</text>'
        )
        tick += step
    return out


def piano_roll_svg(
    piece: Piece, *, title: str = "", width: int = 720, height: int = 220, seconds: float = 0.0
) -> str:
    """The piece as an SVG piano roll `width`×`height` px; `title` becomes its <title> (what a
    screen reader says); `seconds` fixes the time axis (default: the piece's duration)."""
    tracks = [(i, t) for i, t in enumerate(piece.tracks) if not t.is_drum and t.notes]
    pitches = [n.pitch for _, t in tracks for n in t.notes]
    low, high = (min(pitches) - 2, max(pitches) + 2) if pitches else (58, 70)
    total = max(seconds, duration(piece), 1e-3)
    plot_w = width - MARGIN_LEFT - 4
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    row = plot_h / (high - low + 1)
    scale = plot_w / total
    label = title or piece.title or "piano roll"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(label)}>',
        f"<title>{escape(label)}</title>",
        f'<rect width="{width}" height="{height}" fill="#fbfbfd"/>',
        *_grid(low, high, row, MARGIN_TOP, plot_w),
        *_seconds_axis(total, scale, MARGIN_TOP + plot_h),
    ]
    legend_x = float(width - 4)
    for index, track in reversed(tracks):  # the legend, right-aligned along the top
        colour = _colour(track.name, index)
        parts.append(
            f'<text x="{legend_x:.1f}" y="11" font-size="10" text-anchor="end" '
            f'font-family="sans-serif" fill="{colour}">{escape(track.name)}</text>'
        )
        legend_x -= 7 * len(track.name) + 10
    for index, track in tracks:
        colour = _colour(track.name, index)
        parts.append(f'<g fill="{colour}" fill-opacity="0.85"><title>{escape(track.name)}</title>')
        for n in track.notes:
            x = MARGIN_LEFT + n.start * scale
            w = max(1.0, (n.end - n.start) * scale - 0.5)
            y = MARGIN_TOP + (high - n.pitch) * row
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{max(1.0, row - 0.4):.2f}" '
                'rx="1"/>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def pitch_name(pitch: int) -> str:
    """60 → "C4"."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"
