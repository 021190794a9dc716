"""Charts drawn on the server as inline SVG: no JavaScript, no external assets.

Each chart carries a <title> and <desc> (role="img", aria-labelledby) and is readable
printed and in greyscale: every series has its own dash pattern and marker shape, not
only its own colour. Pages show the data as a table beside the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

DAY_TICKS: list[float] = [1, 3, 7, 14, 30, 42, 90, 180]

WIDTH = 720
HEIGHT = 360
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 40
MARGIN_BOTTOM = 48

# Dark enough to print; told apart by dash and marker, not by colour alone.
COLOURS = ["#1f4e79", "#8c2d04", "#2d6a2d", "#5b2a86", "#444444", "#7a5c00"]
DASHES = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 5"]
MARKERS = ["circle", "square", "triangle", "diamond", "cross", "circle-open"]

_ids = count(1)


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    # Points drawn with a distinct marker as well (e.g. red-flag answers).
    marked: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Band:
    label: str
    lower: list[tuple[float, float]]
    upper: list[tuple[float, float]]


def sqrt_days(day: float) -> float:
    """Square-root scale of days: 0..180 maps to 0..1, day 1-14 keep a readable width."""
    return math.sqrt(max(day, 0.0)) / math.sqrt(180.0)


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _tick_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _marker(shape: str, x: float, y: float, colour: str, size: float = 4.0) -> str:
    sx, sy = _fmt(x), _fmt(y)
    if shape == "circle":
        return f'<circle cx="{sx}" cy="{sy}" r="{size}" fill="{colour}"/>'
    if shape == "circle-open":
        return (
            f'<circle cx="{sx}" cy="{sy}" r="{size}" fill="white" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    if shape == "square":
        return (
            f'<rect x="{_fmt(x - size)}" y="{_fmt(y - size)}" width="{2 * size}" '
            f'height="{2 * size}" fill="{colour}"/>'
        )
    if shape == "triangle":
        pts = f"{_fmt(x)},{_fmt(y - size - 1)} {_fmt(x - size - 1)},{_fmt(y + size)} " + (
            f"{_fmt(x + size + 1)},{_fmt(y + size)}"
        )
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "diamond":
        s = size + 1
        pts = f"{sx},{_fmt(y - s)} {_fmt(x + s)},{sy} {sx},{_fmt(y + s)} {_fmt(x - s)},{sy}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    # cross
    return (
        f'<path d="M{_fmt(x - size)} {_fmt(y - size)}L{_fmt(x + size)} {_fmt(y + size)}'
        f'M{_fmt(x - size)} {_fmt(y + size)}L{_fmt(x + size)} {_fmt(y - size)}" '
        f'stroke="{colour}" stroke-width="2.5"/>'
    )


@dataclass(frozen=True)
class _Plot:
    """Where values land: the x and y ranges and the plot area they are drawn into."""

    x_scale: Callable[[float], float]
    x_min: float
    x_max: float
    y_min: float
    y_max: float
    width: int = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    height: int = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(self, x: float) -> float:
        return MARGIN_LEFT + (self.x_scale(x) - self.x_min) / (self.x_max - self.x_min) * self.width

    def py(self, y: float) -> float:
        y = min(max(y, self.y_min), self.y_max)
        return MARGIN_TOP + (1 - (y - self.y_min) / (self.y_max - self.y_min)) * self.height


def _plot(
    series: list[Series],
    x_ticks: list[float],
    y_range: tuple[float, float],
    x_scale: Callable[[float], float],
) -> _Plot:
    """The scales: x spans the ticks and every point, y the given range; an empty range
    is widened to 1 so nothing divides by zero."""
    xs = [x_scale(t) for t in x_ticks] or [0.0, 1.0]
    for s in series:
        xs.extend(x_scale(x) for x, _ in s.points)
    x_min, x_max = min(xs), max(xs)
    if x_max == x_min:
        x_max = x_min + 1
    y_min, y_max = y_range
    if y_max == y_min:
        y_max = y_min + 1
    return _Plot(x_scale=x_scale, x_min=x_min, x_max=x_max, y_min=y_min, y_max=y_max)


def _style(index: int) -> tuple[str, str, str]:
    """The colour, dash pattern and marker shape of the index-th series."""
    return (
        COLOURS[index % len(COLOURS)],
        DASHES[index % len(DASHES)],
        MARKERS[index % len(MARKERS)],
    )


def _dash_attr(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def _opening(title: str, description: str, total_height: float) -> list[str]:
    uid = next(_ids)
    title_id, desc_id = f"chart-title-{uid}", f"chart-desc-{uid}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {total_height}" width="100%" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="sans-serif" font-size="12">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{total_height}" fill="white"/>',
        f'<text x="{MARGIN_LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]


def _y_grid(plot: _Plot) -> list[str]:
    """A grid line and a label at every y tick: each unit up to a range of 10, else about
    ten steps."""
    span = plot.y_max - plot.y_min
    step = 1 if span <= 10 else max(1, round(span / 10))
    out: list[str] = []
    y = plot.y_min
    while y <= plot.y_max + 1e-9:
        yy = _fmt(plot.py(y))
        out.append(
            f'<line x1="{MARGIN_LEFT}" y1="{yy}" x2="{WIDTH - MARGIN_RIGHT}" y2="{yy}" '
            'stroke="#dddddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{yy}" text-anchor="end" '
            f'dominant-baseline="middle">{_tick_label(y)}</text>'
        )
        y += step
    return out


def _x_grid(plot: _Plot, x_ticks: list[float]) -> list[str]:
    out: list[str] = []
    for t in x_ticks:
        xx = _fmt(plot.px(t))
        out.append(
            f'<line x1="{xx}" y1="{MARGIN_TOP}" x2="{xx}" y2="{MARGIN_TOP + plot.height}" '
            'stroke="#eeeeee" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{xx}" y="{MARGIN_TOP + plot.height + 16}" '
            f'text-anchor="middle">{_tick_label(t)}</text>'
        )
    return out


def _axes(plot: _Plot, x_label: str, y_label: str) -> list[str]:
    return [
        f'<path d="M{MARGIN_LEFT} {MARGIN_TOP}V{MARGIN_TOP + plot.height}'
        f'H{WIDTH - MARGIN_RIGHT}" fill="none" stroke="black" stroke-width="1"/>',
        f'<text x="{MARGIN_LEFT + plot.width / 2:.1f}" y="{MARGIN_TOP + plot.height + 36}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text transform="translate(14 {MARGIN_TOP + plot.height / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]


def _bands(plot: _Plot, bands: list[Band]) -> list[str]:
    """Each band as a light grey area between its upper and lower edges."""
    out: list[str] = []
    for band in bands:
        if not band.lower or not band.upper:
            continue
        upper = " ".join(f"{_fmt(plot.px(x))},{_fmt(plot.py(v))}" for x, v in band.upper)
        lower = " ".join(f"{_fmt(plot.px(x))},{_fmt(plot.py(v))}" for x, v in reversed(band.lower))
        out.append(
            f'<polygon class="band" points="{upper} {lower}" fill="#cccccc" '
            f'fill-opacity="0.5" stroke="#999999" stroke-dasharray="3 3">'
            f"<title>{escape(band.label)}</title></polygon>"
        )
    return out


def _reference_lines(plot: _Plot, reference_lines: list[tuple[str, float]]) -> list[str]:
    out: list[str] = []
    for label, value in reference_lines:
        yy = _fmt(plot.py(value))
        out.append(
            f'<line class="reference" x1="{MARGIN_LEFT}" y1="{yy}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y2="{yy}" stroke="#555555" stroke-width="1" stroke-dasharray="6 3 1 3"/>'
        )
        out.append(
            f'<text x="{WIDTH - MARGIN_RIGHT - 4}" y="{_fmt(plot.py(value) - 4)}" '
            f'text-anchor="end" font-size="11" fill="#333333">{escape(label)}</text>'
        )
    return out


def _series(plot: _Plot, index: int, s: Series) -> list[str]:
    """One series as a group: its line, a marker per point, a red ring per marked point."""
    colour, dash, shape = _style(index)
    points = sorted(s.points)
    out = [f'<g class="series" data-label="{escape(s.label)}">']
    if len(points) > 1:
        d = "M" + "L".join(f"{_fmt(plot.px(x))} {_fmt(plot.py(v))}" for x, v in points)
        out.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{_dash_attr(dash)}/>'
        )
    for x, v in points:
        out.append(
            f'<g class="point">{_marker(shape, plot.px(x), plot.py(v), colour)}'
            f"<title>{escape(s.label)}: day {_tick_label(x)}, {_tick_label(v)}</title></g>"
        )
    for x, v in s.marked:
        out.append(
            f'<circle class="marked" cx="{_fmt(plot.px(x))}" cy="{_fmt(plot.py(v))}" r="8" '
            f'fill="none" stroke="#c00000" stroke-width="2.5">'
            f"<title>Red flag: {escape(s.label)}, day {_tick_label(x)}</title></circle>"
        )
    out.append("</g>")
    return out


def _legend_rows(series: list[Series], bands: list[Band]) -> int:
    return len(series) + len(bands) + (1 if any(s.marked for s in series) else 0)


def _legend_row(sample: str, y: float, label: str) -> list[str]:
    return [
        sample,
        f'<text x="{MARGIN_LEFT + 44}" y="{y}" dominant-baseline="middle">{escape(label)}</text>',
    ]


def _legend(series: list[Series], bands: list[Band], marked_label: str) -> list[str]:
    """A row under the plot for each series, each band and, if any point is marked, the
    red ring."""
    out: list[str] = []
    y = HEIGHT + 4
    for index, s in enumerate(series):
        colour, dash, shape = _style(index)
        out.append(
            f'<line x1="{MARGIN_LEFT}" y1="{y}" x2="{MARGIN_LEFT + 36}" y2="{y}" '
            f'stroke="{colour}" stroke-width="2"{_dash_attr(dash)}/>'
        )
        out += _legend_row(_marker(shape, MARGIN_LEFT + 18, y, colour), y, s.label)
        y += 18
    for band in bands:
        swatch = (
            f'<rect x="{MARGIN_LEFT}" y="{y - 6}" width="36" height="12" fill="#cccccc" '
            'stroke="#999999" stroke-dasharray="3 3"/>'
        )
        out += _legend_row(swatch, y, band.label)
        y += 18
    if any(s.marked for s in series):
        ring = (
            f'<circle cx="{MARGIN_LEFT + 18}" cy="{y}" r="7" fill="none" stroke="#c00000" '
            'stroke-width="2.5"/>'
        )
        out += _legend_row(ring, y, marked_label)
    return out


def line_chart(
    *,
    title: str,
    description: str,
    series: list[Series],
    x_ticks: list[float],
    y_range: tuple[float, float] = (0, 10),
    x_scale: Callable[[float], float] = sqrt_days,
    reference_lines: list[tuple[str, float]] | None = None,
    bands: list[Band] | None = None,
    x_label: str,
    y_label: str,
    marked_label: str = "Ringed: red-flag answer",
) -> SafeString:
    """An SVG line chart. Each series point is a <circle>/<rect>/... with class "point";
    marked points get an extra ring with class "marked"."""
    bands = bands or []
    plot = _plot(series, x_ticks, y_range, x_scale)
    out = _opening(title, description, HEIGHT + 18 * _legend_rows(series, bands) + 8)
    out += _y_grid(plot) + _x_grid(plot, x_ticks) + _axes(plot, x_label, y_label)
    out += _bands(plot, bands) + _reference_lines(plot, reference_lines or [])
    for index, s in enumerate(series):
        out += _series(plot, index, s)
    out += _legend(series, bands, marked_label)
    out.append("</svg>")
    # Every text above is escaped; the rest is markup made here.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


__all__ = ["DAY_TICKS", "Band", "Series", "line_chart", "sqrt_days"]
