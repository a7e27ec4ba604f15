"""The weekly PDF as a reader sees it: each page rendered to an image by poppler's `pdftoppm` and to text by
`pdftotext`, then checked for the title block, the charts, page numbers, headings kept with their tables and a
valid creation date."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from reports.exports import pdf_date, report_pdf
from reports.formatting import DIMENSION_LABELS
from reports.selectors import DIMENSIONS, WeeklyReport, report_weekly

from .conftest import NOW

pytestmark = pytest.mark.django_db
WEEK = "2026-W47"
DPI = 60
CHART_HEADINGS = ("Compliance trend", "Created vs resolved", "Backlog at")


def _headings(report: WeeklyReport) -> list[str]:
    return [
        "Headline",
        *CHART_HEADINGS,
        "Compliance and traction per week",
        *[f"By {DIMENSION_LABELS[d].lower()}" for d in DIMENSIONS],
        "Breaches (",
        "Break-glass access (",
        "Hypercare windows (",
        "Post-incident reviews (",
    ]


def _poppler(tool: str, *args: str) -> str:
    """Run one of poppler-utils' tools (scripts/test.sh installs them) and return what it printed."""
    path = shutil.which(tool)
    assert path, f"{tool} is missing: apt-get install poppler-utils"
    return subprocess.run([path, *args], check=True, capture_output=True, text=True).stdout  # noqa: S603


def _write(tmp_path: Path, content: bytes, name: str = "report.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _page_count(pdf: Path) -> int:
    return len(PdfReader(pdf).pages)


def _page_text(pdf: Path, page: int) -> str:
    return _poppler("pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-")


def _page_image(pdf: Path, page: int, tmp_path: Path) -> Image.Image:
    prefix = tmp_path / f"page-{page}"
    _poppler("pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(prefix))
    return Image.open(f"{prefix}.png").convert("RGB")


def _word_boxes(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """(word, top, bottom) in points of every word on `page`, from `pdftotext -bbox`."""
    html = _poppler("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-")
    pattern = r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>'
    return [(word, float(top), float(bottom)) for top, bottom, word in re.findall(pattern, html)]


def _colourful(image: Image.Image, top: float, bottom: float) -> int:
    """Pixels between `top` and `bottom` (points) whose colour is clearly not grey: chart bars, lines, dots."""
    scale = DPI / 72
    band = image.crop((0, int(top * scale), image.width, min(int(bottom * scale), image.height)))
    return sum(1 for r, g, b in band.get_flattened_data() if max(r, g, b) - min(r, g, b) > 60)


@pytest.fixture
def report(dataset) -> WeeklyReport:
    return report_weekly(user=dataset.world.pm, week=WEEK, now=NOW)


def test_every_chart_heading_has_a_chart_drawn_below_it(report, tmp_path):
    pdf = _write(tmp_path, report_pdf(report))
    found = {}
    for page in range(1, _page_count(pdf) + 1):
        words = _word_boxes(pdf, page)
        image = _page_image(pdf, page, tmp_path)
        for heading in CHART_HEADINGS:
            first = heading.split()[0]
            for index, (word, _, bottom) in enumerate(words):
                following = " ".join(w for w, _, _ in words[index : index + len(heading.split())])
                if word == first and following == heading:
                    # The chart sits right below its heading: ~70 mm tall.
                    found[heading] = _colourful(image, bottom, bottom + 70 * 72 / 25.4)
    assert set(found) == set(CHART_HEADINGS)
    assert all(count > 200 for count in found.values()), found
    # The control: the band below the headline heading holds a plain table, no colour.
    words = _word_boxes(pdf, 1)
    headline = next(bottom for word, _, bottom in words if word == "Headline")
    assert _colourful(_page_image(pdf, 1, tmp_path), headline, headline + 150) < 50


def test_title_block_page_numbers_and_a_valid_creation_date(report, tmp_path):
    pdf = _write(tmp_path, report_pdf(report))
    pages = _page_count(pdf)

    assert pages >= 3
    first = _page_text(pdf, 1)
    assert f"Portico · Weekly SLA report {WEEK}" in first
    assert "Generated 25 Nov 2026, 12:00 IST (Asia/Kolkata)" in first
    for page in range(1, pages + 1):
        assert f"Page {page} of {pages}" in _page_text(pdf, page)
    # The logo's blue (#1d4f91) is in the top-left corner of page 1.
    corner = _page_image(pdf, 1, tmp_path).crop((0, 0, 120, 90))
    assert any(
        abs(r - 0x1D) < 20 and abs(g - 0x4F) < 20 and abs(b - 0x91) < 20 for r, g, b in corner.get_flattened_data()
    )

    metadata = PdfReader(pdf).metadata
    assert metadata is not None
    assert metadata["/CreationDate"] == "D:20261125120000+05'30'"
    info = _poppler("pdfinfo", "-isodates", str(pdf))
    assert re.search(r"CreationDate:\s+2026-11-25T12:00:00\+05:30", info), info


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-11-25T12:00:00+05:30", "D:20261125120000+05'30'"),
        ("2026-03-01T08:15:00-03:30", "D:20260301081500-03'30'"),
        ("2026-06-01T00:00:00+00:00", "D:20260601000000+00'00'"),
        ("2026-06-01T00:00:00+05:45", "D:20260601000000+05'45'"),
    ],
)
def test_pdf_dates_keep_the_minutes_of_the_offset(instant, expected):
    from datetime import datetime

    assert pdf_date(datetime.fromisoformat(instant)) == expected


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not re.search(r"Page \d+ of \d+", line)]
    return lines[-1] if lines else ""


def _padded(report: WeeklyReport, extra: int) -> WeeklyReport:
    """The report with `extra` copies of its first vendor row: pushes every later heading down the pages."""
    padded = copy.deepcopy(report)
    rows = padded.breakdowns["vendor"]
    padded.breakdowns = {
        **padded.breakdowns,
        "vendor": rows + [replace(rows[0], label=f"Vendor {n}") for n in range(extra)],
    }
    return padded


def test_no_page_ends_with_a_heading(report, tmp_path):
    """Headings land at every height of the page as the vendor table grows; none is ever left at the foot."""
    headings = _headings(report)
    checked = 0
    for extra in range(0, 40, 3):
        pdf = _write(tmp_path, report_pdf(_padded(report, extra)), f"padded-{extra}.pdf")
        for page in range(1, _page_count(pdf) + 1):
            last = _last_line(_page_text(pdf, page))
            assert not any(last.startswith(h) for h in headings), (extra, page, last)
            checked += 1
    assert checked > 40
