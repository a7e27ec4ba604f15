"""Charts drawn on the server as SVG: no script, no CDN, no inline style; each one sits next to a table with the
same numbers.

A `Chart` says what to draw; `svg` draws it at a given size. The page shows two drawings of each chart, a wide one
and a narrow one, and CSS shows the one that fits (text in an SVG scales with it, so one drawing cannot be both
full width at 1366 px and readable at 390 px). The PDF converts the wide SVG with svglib: the same drawing on paper.

Colours are drawn as attributes, for paper and a light page. Every element also carries a class (`chart__text`,
`chart__muted`, `chart__grid`, `chart__s0`…): on a page, reports.css turns those into the theme's colours, which
beat presentation attributes, so the charts follow the dark theme while the PDF (svglib reads no page CSS) keeps
the light drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDE = (960, 300)
NARROW = (320, 300)
FONT = 13
CHAR_WIDTH = 7.2  # an average sans-serif glyph at FONT px: enough to lay out labels and the legend
TOP_PAD, RIGHT_PAD, BOTTOM_PAD = 12, 16, 34
# Colour-blind-safe (Okabe–Ito) and each at least 3:1 against white.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
# Lines differ by dash too, so overlapping or colour-blind-confused series stay apart.
DASHES = ("", "8 4", "2 4", "12 4 2 4")
INK, MUTED, GRID = "#1b2430", "#55606e", "#d5dce5"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Chart:
    """What to draw. `kind`: "bar" (vertical, grouped), "hbar" (horizontal, for long category labels) or "line".

    Counts get whole-number ticks; `percent` fixes the axis at 0–100 %."""

    kind: str
    label: str
    categories: Sequence[str]
    series: Sequence[Series]
    percent: bool = False
    legend: Sequence[str] = field(default=())

    @property
    def unit(self) -> str:
        return "%" if self.percent else ""


def count_ticks(largest: float) -> list[int]:
    """Whole-number ticks from 0 to at least `largest`, at most six of them, in steps of 1, 2 or 5 × 10ⁿ."""
    largest = max(math.ceil(largest), 1)
    step = 1
    while math.ceil(largest / step) > 5:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10 → 20 → 50 …
            step = int(step * factor)
            if math.ceil(largest / step) <= 5:
                break
    return list(range(0, step * math.ceil(largest / step) + 1, step))


def ticks(chart: Chart) -> list[float]:
    if chart.percent:
        return [0, 20, 40, 60, 80, 100]
    return [float(t) for t in count_ticks(max((v or 0 for s in chart.series for v in s.values), default=0))]


def _number(value: float) -> str:
    return f"{value:g}" if not float(value).is_integer() else f"{int(value)}"


def _text(x: float, y: float, content: str, *, anchor: str = "start", muted: bool = False) -> str:
    fill, role = (MUTED, "chart__muted") if muted else (INK, "chart__text")
    return (
        f'<text class="{role}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="{FONT}" fill="{fill}">{escape(content)}</text>'
    )


def _series(index: int) -> str:
    """The colour of series `index` as attributes start it, and the class the theme recolours it by."""
    return f'class="chart__s{index % len(COLOURS)}"'


def _grid(x1: float, x2: float, y1: float, y2: float) -> str:
    return f'<line class="chart__grid" x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{GRID}"/>'


def _legend(names: Sequence[str], width: int, kind: str) -> tuple[list[str], float]:
    """Legend entries left to right, wrapping to a new row when the width runs out; returns shapes and height."""
    parts: list[str] = []
    x, y = 8.0, TOP_PAD
    for index, name in enumerate(names):
        entry = 22 + CHAR_WIDTH * len(name) + 16
        if x + entry > width and x > 8:
            x, y = 8.0, y + FONT + 8
        colour = COLOURS[index % len(COLOURS)]
        if kind == "line":
            parts.append(
                f'<line {_series(index)} x1="{x:.1f}" x2="{x + 16:.1f}" y1="{y + 6:.1f}" y2="{y + 6:.1f}" '
                f'stroke="{colour}" stroke-width="3" stroke-dasharray="{DASHES[index % len(DASHES)]}"/>'
            )
        else:
            parts.append(f'<rect {_series(index)} x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 20, y + 11, name))
        x += entry
    return parts, y + FONT + 10 - TOP_PAD


def svg(chart: Chart, size: tuple[int, int] = WIDE, css_class: str = "") -> SafeString:
    """`chart` as an accessible SVG of `size` (user units; CSS scales it to its box)."""
    width, height = size
    names = list(chart.legend) or [s.name for s in chart.series]
    legend, legend_h = _legend(names, width, chart.kind)
    axis = ticks(chart)
    top = axis[-1] or 1
    unit = chart.unit
    if chart.kind == "hbar":
        left = 12 + CHAR_WIDTH * max((len(c) for c in chart.categories), default=4)
    else:
        left = 14 + CHAR_WIDTH * max(len(_number(axis[-1]) + unit), 2)
    plot_top = TOP_PAD + legend_h + 6
    plot_w, plot_h = width - left - RIGHT_PAD, height - plot_top - BOTTOM_PAD
    classes = " ".join(["chart", *([css_class] if css_class else [])])
    parts = [
        f'<svg class="{classes}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(chart.label)}" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(chart.label)}</title>",
        *legend,
    ]
    count = max(len(chart.categories), 1)
    if chart.kind == "hbar":
        for tick in axis:
            x = left + plot_w * tick / top
            parts.append(_grid(x, x, plot_top, plot_top + plot_h))
            parts.append(_text(x, plot_top + plot_h + 18, _number(tick) + unit, anchor="middle", muted=True))
        step = plot_h / count
        bar = step * 0.7 / max(len(chart.series), 1)
        for index, category in enumerate(chart.categories):
            y = plot_top + step * index
            parts.append(_text(left - 8, y + step / 2 + FONT / 3, category, anchor="end"))
            for s_index, s in enumerate(chart.series):
                amount = s.values[index] or 0
                parts.append(
                    f'<rect {_series(s_index)} x="{left}" y="{y + step * 0.15 + bar * s_index:.1f}" '
                    f'width="{plot_w * amount / top:.1f}" '
                    f'height="{bar:.1f}" fill="{COLOURS[s_index % len(COLOURS)]}"><title>{escape(s.name)}, '
                    f"{escape(category)}: {escape(_number(amount))}{unit}</title></rect>"
                )
        parts.append("</svg>")
        return mark_safe("".join(parts))

    for tick in axis:
        y = plot_top + plot_h - plot_h * tick / top
        parts.append(_grid(left, width - RIGHT_PAD, y, y))
        parts.append(_text(left - 6, y + FONT / 3, _number(tick) + unit, anchor="end", muted=True))
    step = plot_w / count
    for index, category in enumerate(chart.categories):
        parts.append(_text(left + step * (index + 0.5), plot_top + plot_h + 20, category, anchor="middle"))
    for s_index, s in enumerate(chart.series):
        colour = COLOURS[s_index % len(COLOURS)]
        if chart.kind == "bar":
            bar = step * 0.7 / max(len(chart.series), 1)
            for index, value in enumerate(s.values):
                h = plot_h * (value or 0) / top
                x = left + step * index + step * 0.15 + bar * s_index
                parts.append(
                    f'<rect {_series(s_index)} x="{x:.1f}" y="{plot_top + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{escape(s.name)}, {escape(chart.categories[index])}: '
                    f"{escape(_number(value or 0))}{unit}</title></rect>"
                )
            continue
        # A line with a dot per known value; a missing value (no clock that week) breaks the line.
        segment: list[str] = []
        for index, point in enumerate([*s.values, None]):
            if point is None:
                if len(segment) > 1:
                    parts.append(
                        f'<polyline {_series(s_index)} points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                        f'stroke-width="2.5" '
                        f'stroke-dasharray="{DASHES[s_index % len(DASHES)]}"/>'
                    )
                segment = []
                continue
            x, y = left + step * (index + 0.5), plot_top + plot_h - plot_h * point / top
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle {_series(s_index)} cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(s.name)}, '
                f"{escape(chart.categories[index])}: {escape(_number(point))}{unit}</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def responsive(chart: Chart) -> SafeString:
    """The wide and the narrow drawing; reports.css shows one of them (the hidden one is out of the a11y tree)."""
    return mark_safe(svg(chart, WIDE, "chart--wide") + svg(chart, NARROW, "chart--narrow"))
