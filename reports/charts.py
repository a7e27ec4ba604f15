"""Charts drawn on the server as inline SVG: no script, no CDN; each one sits next to a table with the same numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 40
# Colour-blind-safe (Okabe–Ito) and each at least 3:1 against white.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
# Lines differ by dash too, so overlapping or colour-blind-confused series stay apart.
DASHES = ("", "8 4", "2 4", "12 4 2 4")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:g}"


def _frame(
    label: str, body: list[str], categories: Sequence[str], top: float, unit: str, legend: list[str]
) -> SafeString:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(label)}</title>",
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dce5"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#55606e">'
            f"{escape(_number(value))}{escape(unit)}</text>"
        )
    step = plot_w / max(len(categories), 1)
    for index, category in enumerate(categories):
        x = LEFT + step * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" fill="#1b2430">'
            f"{escape(category)}</text>"
        )
    parts.extend(body)
    x = LEFT
    for index, name in enumerate(legend):
        colour = COLOURS[index % len(COLOURS)]
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="18" font-size="12" fill="#1b2430">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(label: str, categories: Sequence[str], series: Sequence[Series], unit: str = "") -> SafeString:
    """Grouped vertical bars, one group per category."""
    top = _nice_max(max((v or 0 for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(categories), 1)
    bar = step * 0.7 / max(len(series), 1)
    body = []
    for s_index, s in enumerate(series):
        for index, value in enumerate(s.values):
            height = plot_h * (value or 0) / top
            x = LEFT + step * index + step * 0.15 + bar * s_index
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{COLOURS[s_index % len(COLOURS)]}"><title>{escape(s.name)}, {escape(categories[index])}: '
                f"{escape(_number(value or 0))}{escape(unit)}</title></rect>"
            )
    return _frame(label, body, categories, top, unit, [s.name for s in series])


def line_chart(
    label: str, categories: Sequence[str], series: Sequence[Series], top: float, unit: str = ""
) -> SafeString:
    """Lines with a dot per known value; a missing value (no clock that week) breaks the line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(categories), 1)
    body = []
    for s_index, s in enumerate(series):
        colour = COLOURS[s_index % len(COLOURS)]
        segment: list[str] = []
        for index, value in enumerate([*s.values, None]):
            if value is None:
                if len(segment) > 1:
                    body.append(
                        f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2.5" '
                        f'stroke-dasharray="{DASHES[s_index % len(DASHES)]}"/>'
                    )
                segment = []
                continue
            x, y = LEFT + step * (index + 0.5), TOP + plot_h - plot_h * value / top
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(s.name)}, '
                f"{escape(categories[index])}: {escape(_number(value))}{escape(unit)}</title></circle>"
            )
    return _frame(label, body, categories, top, unit, [s.name for s in series])
