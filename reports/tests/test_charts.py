"""The SVG charts: whole-number ticks on count axes, a legend naming every series, no inline style or script."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from reports.charts import NARROW, WIDE, Chart, Series, count_ticks, responsive, svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("largest", "expected"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (5, [0, 1, 2, 3, 4, 5]),
        (6, [0, 2, 4, 6]),
        (13, [0, 5, 10, 15]),
        (50, [0, 10, 20, 30, 40, 50]),
        (51, [0, 20, 40, 60]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_count_axes_have_whole_number_ticks_covering_the_largest_value(largest, expected):
    assert count_ticks(largest) == expected


@pytest.mark.parametrize("largest", [*range(0, 120), 499, 999, 12345])
def test_count_ticks_are_whole_evenly_spaced_and_few(largest):
    ticks = count_ticks(largest)
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert ticks[0] == 0 and ticks[-1] >= largest and len(ticks) <= 6 and len(steps) == 1
    assert all(isinstance(t, int) for t in ticks)


def _labels(drawing: str) -> list[str]:
    root = ET.fromstring(drawing)  # noqa: S314  (our own output)
    return [text.text or "" for text in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("size", [WIDE, NARROW])
@pytest.mark.parametrize("kind", ["bar", "hbar"])
def test_a_count_chart_reads_whole_numbers_and_names_its_series(size, kind):
    chart = Chart(kind, "Traction", ["W46", "W47"], [Series("Created", [25, 7]), Series("Resolved", [3, 0])])
    labels = _labels(svg(chart, size))

    assert {"Created", "Resolved"} <= set(labels)  # the legend
    numbers = [label for label in labels if re.fullmatch(r"[\d.]+", label)]
    assert numbers == ["0", "5", "10", "15", "20", "25"]  # never 12.5 or 37.5


def test_a_percent_chart_runs_from_0_to_100_and_draws_dashed_lines():
    chart = Chart("line", "Compliance", ["W46", "W47"], [Series("A", [100, 50]), Series("B", [75, 25])], percent=True)
    drawing = svg(chart)

    assert [label for label in _labels(drawing) if label.endswith("%")] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    # The second series is dashed, in the legend and on the plot: told apart without colour.
    assert drawing.count('stroke-dasharray="8 4"') == 2


def test_the_responsive_pair_has_no_inline_style_or_script():
    chart = Chart("bar", "Label with <b>", ["a"], [Series("x", [1])])
    pair = str(responsive(chart))

    assert pair.count("<svg") == 2 and "chart--wide" in pair and "chart--narrow" in pair
    assert "style=" not in pair and "<script" not in pair and "<style" not in pair
    assert "&lt;b&gt;" in pair and "<b>" not in pair


@pytest.mark.parametrize("kind", ["bar", "hbar", "line"])
def test_every_drawn_element_keeps_its_paper_colour_and_names_its_theme_class(kind):
    """svglib (the PDF) reads the colour attributes; a page recolours by class (reports.css) to follow the theme."""
    chart = Chart(kind, "Traction", ["W46", "W47"], [Series("Created", [25, 7]), Series("Resolved", [3, 0])])
    root = ET.fromstring(svg(chart))  # noqa: S314  (our own output)

    for element in root.iter():
        tag = element.tag.removeprefix(SVG)
        if tag in {"svg", "title"}:
            continue
        paint = element.get("fill") if tag in {"text", "rect", "circle"} else element.get("stroke")
        assert paint and paint.startswith("#"), (tag, element.attrib)
        assert element.get("class") in {"chart__text", "chart__muted", "chart__grid", "chart__s0", "chart__s1"}
    classes = {element.get("class") for element in root.iter()}
    assert {"chart__text", "chart__muted", "chart__grid", "chart__s0", "chart__s1"} <= classes


@pytest.mark.django_db
def test_dashboard_shows_open_by_state_and_priority_traction_and_compliance_charts(client, dataset):
    import time_machine

    from .conftest import NOW

    client.force_login(dataset.world.pm)
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("reports-dashboard")).content.decode()

    charts = re.search(r'<div class="report-charts" id="dashboard-charts">.*?</div>\n', html, re.S)
    assert charts
    block = charts.group(0)
    for label in (
        "Open requests by state, now",
        "Open requests by priority, now",
        "Requests created and resolved per week, 2026-W41 to 2026-W48",
        "SLA and OLA compliance per week, 2026-W41 to 2026-W48",
    ):
        assert block.count(f'aria-label="{label}"') == 2  # wide and narrow
    # Open by state: six open states (6 open requests: see the data set), with whole-number ticks.
    state_svg = re.search(
        r'<svg class="chart chart--wide"[^>]*aria-label="Open requests by state, now".*?</svg>', block, re.S
    )
    assert state_svg
    labels = _labels(state_svg.group(0))
    assert "Waiting on requester" in labels and "Open requests" in labels
    assert not [label for label in labels if re.fullmatch(r"\d+\.\d+", label)]
