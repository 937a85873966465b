"""Plots for audit pages as inline SVG strings (matplotlib, Agg-free SVG backend, no fonts
embedded: text stays text, so the page is searchable and small)."""

from __future__ import annotations

import io
import re
from typing import Any

COLOURS = {"female": "#b5487c", "male": "#3b6ea5", "nonbinary": "#8a6bbf", "unknown": "#9a9a9a"}
OTHER = "#c08a2e"


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)  # RDF boilerplate
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("svg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 10})
    return plt.subplots(figsize=(width, height))


def bins_svg(bins: list[tuple[str, float]], ours: str, share: float) -> str:
    """The reference distribution as bars, the band this script falls in highlighted."""
    fig, ax = _figure(6.4, 2.8)
    names = [n.replace(" (", "\n(") for n, _ in bins]
    ours = ours.replace(" (", "\n(")
    bars = ax.bar(names, [100 * v for _, v in bins], color="#c9c9c9")
    bars[names.index(ours)].set_color(COLOURS["female"])
    ax.set_ylabel("% of the Pudding's films")
    ax.set_xlabel("women's share of dialogue words")
    ax.annotate(
        f"this script: {100 * share:.1f}%",
        xy=(names.index(ours), bins[names.index(ours)][1] * 100),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
    )
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def words_svg(rows: list[tuple[str, int, str]], most: int = 20) -> str:
    """Words per character (horizontal bars), coloured by gender, largest first."""
    rows = sorted(rows, key=lambda r: -r[1])[:most]
    fig, ax = _figure(6.4, 0.8 + 0.28 * len(rows))
    ax.barh(
        [r[0] for r in rows][::-1],
        [r[1] for r in rows][::-1],
        color=[COLOURS.get(r[2], OTHER) for r in rows][::-1],
    )
    ax.set_xlabel("words of dialogue")
    seen = list(dict.fromkeys(r[2] for r in rows))
    from matplotlib.patches import Patch

    handles = [Patch(color=COLOURS.get(g, OTHER), label=g) for g in seen]
    ax.legend(handles=handles, frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def pairs_svg(
    rows: list[tuple[str, float, float]],
    xlabel: str = "women's share of dialogue words (%)",
    reference: tuple[float, str] | None = (0.281, "the Pudding 28.1%"),
    names: tuple[str, str] = ("original", "swapped"),
) -> str:
    """Per logline pair: a share (women's, by default) in the original and the swapped script."""
    fig, ax = _figure(6.4, 0.8 + 0.26 * len(rows))
    ys = list(range(len(rows)))[::-1]
    for y, (_, a, b) in zip(ys, rows, strict=True):
        ax.plot([100 * a, 100 * b], [y, y], color="#bbbbbb", zorder=1)
    ax.scatter([100 * r[1] for r in rows], ys, color=COLOURS["female"], label=names[0], zorder=2)
    ax.scatter([100 * r[2] for r in rows], ys, color=COLOURS["male"], label=names[1], zorder=2)
    ax.set_yticks(ys, [r[0] for r in rows])
    if reference is not None:
        ax.axvline(100 * reference[0], color="#555555", linestyle=":", linewidth=1)
        ax.text(100 * reference[0] + 0.5, ys[0] + 0.4, reference[1], fontsize=8, color="#555555")
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, 100)
    ax.legend(frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def hist_svg(values: list[float], reference: float, label: str) -> str:
    """A histogram of shares (0–1) with a reference line."""
    fig, ax = _figure(6.4, 2.6)
    ax.hist([100 * v for v in values], bins=list(range(0, 101, 5)), color=COLOURS["female"])
    ax.axvline(100 * reference, color="#555555", linestyle=":", linewidth=1)
    ax.text(100 * reference + 0.8, ax.get_ylim()[1] * 0.9, label, fontsize=8, color="#555555")
    ax.set_xlabel("women's share of dialogue words (%)")
    ax.set_ylabel("scripts")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def rates_svg(rows: list[tuple[str, float, Any]], overall: float, label: str) -> str:
    """Horizontal bars of a rate per group with their intervals, and the overall rate."""
    fig, ax = _figure(6.4, 0.8 + 0.26 * len(rows))
    names = [r[0] for r in rows][::-1]
    values = [100 * r[1] for r in rows][::-1]
    low = [100 * (r[1] - r[2][0]) if r[2] else 0 for r in rows][::-1]
    high = [100 * (r[2][1] - r[1]) if r[2] else 0 for r in rows][::-1]
    ax.barh(names, values, xerr=[low, high], color=COLOURS["male"], ecolor="#555555")
    ax.axvline(100 * overall, color="#222222", linestyle=":", linewidth=1.2, zorder=3)
    ax.set_xlabel(f"{label} (%)")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def deciles_svg(slots: list[float], interactions: list[float]) -> str:
    """Share of recommendation slots and of interactions per popularity decile."""
    import numpy as np

    fig, ax = _figure(6.4, 2.8)
    x = np.arange(1, len(slots) + 1)
    ax.bar(x - 0.2, [100 * v for v in slots], width=0.4, color=COLOURS["male"], label="slots")
    ax.bar(
        x + 0.2, [100 * v for v in interactions], width=0.4, color="#c9c9c9", label="interactions"
    )
    ax.set_xticks(x)
    ax.set_xlabel("popularity decile (10 = most popular)")
    ax.set_ylabel("%")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def tradeoff_svg(rows: list[tuple[float, float, float, float]]) -> str:
    """NDCG, miscalibration and the group gap over λ, relative to λ = 0."""
    fig, ax = _figure(6.4, 2.8)
    lams = [r[0] for r in rows]
    for index, label, colour in ((1, "NDCG", COLOURS["male"]), (2, "miscalibration", OTHER),
                                 (3, "group gap", COLOURS["female"])):  # fmt: skip
        base = rows[0][index] or 1.0
        ax.plot(lams, [100 * r[index] / base for r in rows], marker="o", color=colour, label=label)
    ax.set_xlabel("λ (0 = the model's own order)")
    ax.set_ylabel("% of the value at λ = 0")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def lorenz_svg(curves: list[tuple[str, list[float]]]) -> str:
    """Lorenz curves of exposure: cumulative share of slots over the items, least first."""
    fig, ax = _figure(4.2, 3.6)
    ax.plot([0, 100], [0, 100], color="#9a9a9a", linestyle=":", linewidth=1, label="equal")
    for (label, ys), colour in zip(
        curves, (COLOURS["male"], OTHER, COLOURS["female"]), strict=False
    ):
        xs = [100 * i / (len(ys) - 1) for i in range(len(ys))]
        ax.plot(xs, [100 * y for y in ys], color=colour, label=label)
    ax.set_xlabel("items, least exposed first (%)")
    ax.set_ylabel("share of slots (%)")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def group_ci_svg(rows: list[tuple[str, float, list[float]]], label: str) -> str:
    """A value per group (horizontal bars) with its 95% interval."""
    fig, ax = _figure(6.4, 0.9 + 0.32 * len(rows))
    names = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    low = [r[1] - r[2][0] if r[2] else 0 for r in rows][::-1]
    high = [r[2][1] - r[1] if r[2] else 0 for r in rows][::-1]
    ax.barh(names, values, xerr=[low, high], color=COLOURS["male"], ecolor="#555555", capsize=3)
    ax.set_xlabel(label)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
