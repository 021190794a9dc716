"""Server-drawn SVG charts: they parse, carry a text alternative, and draw what they are
given (points, red-flag marks, reference lines, bands), distinguishable without colour."""

import math
import xml.etree.ElementTree as ET

from followup.charts import DAY_TICKS, Band, Series, line_chart, sqrt_days

SVG = "{http://www.w3.org/2000/svg}"


def chart(**overrides):
    arguments = {
        "title": "Pain <by> day",
        "description": "Two episodes & a band",
        "series": [
            Series("First", [(1, 6), (7, 4), (30, 5)], marked=[(7, 4)]),
            Series("Second", [(3, 7), (14, 3)]),
        ],
        "x_ticks": DAY_TICKS,
        "reference_lines": [("30 %", 5.6), ("50 %", 4)],
        "bands": [Band("IQR", [(1, 3), (7, 2)], [(1, 6), (7, 5)])],
        "x_label": "Days",
        "y_label": "NRS",
    } | overrides
    return ET.fromstring(str(line_chart(**arguments)))  # noqa: S314 - our own SVG


def test_parses_with_title_and_desc_referenced_by_aria():
    svg = chart()
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None
    assert title.text == "Pain <by> day"
    assert desc is not None
    assert desc.text == "Two episodes & a band"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "script" not in ET.tostring(svg).decode()


def test_draws_every_point_mark_reference_and_band():
    svg = chart()
    assert len(svg.findall(f".//{SVG}g[@class='point']")) == 5
    assert len(svg.findall(f".//{SVG}circle[@class='marked']")) == 1
    assert len(svg.findall(f".//{SVG}line[@class='reference']")) == 2
    assert len(svg.findall(f".//{SVG}polygon[@class='band']")) == 1


def test_series_differ_by_dash_pattern_not_only_colour():
    svg = chart()
    paths = [g.find(f"{SVG}path") for g in svg.findall(f".//{SVG}g[@class='series']")]
    dashes = [path.get("stroke-dasharray") for path in paths if path is not None]
    assert len(dashes) == 2
    assert len(set(dashes)) == 2


def test_empty_chart_still_parses():
    svg = chart(series=[], reference_lines=[], bands=[])
    assert svg.findall(f".//{SVG}g[@class='point']") == []


def test_sqrt_days_keeps_the_first_two_weeks_readable():
    assert sqrt_days(0) == 0
    assert math.isclose(sqrt_days(180), 1)
    # Day 14 sits over a quarter of the way along, though it is under a tenth of 180 days.
    assert sqrt_days(14) > 0.25
    assert sqrt_days(1) < sqrt_days(3) < sqrt_days(7) < sqrt_days(14)
