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
    reference_lines = reference_lines or []
    bands = bands or []
    uid = next(_ids)
    title_id, desc_id = f"chart-title-{uid}", f"chart-desc-{uid}"
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    legend_rows = len(series) + len(bands) + (1 if any(s.marked for s in series) else 0)
    legend_h = 18 * legend_rows + 8
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    total_h = HEIGHT + legend_h

    xs = [x_scale(t) for t in x_ticks] or [0.0, 1.0]
    for s in series:
        xs.extend(x_scale(x) for x, _ in s.points)
    x_min, x_max = min(xs), max(xs)
    if x_max == x_min:
        x_max = x_min + 1
    y_min, y_max = y_range
    if y_max == y_min:
        y_max = y_min + 1

    def px(x: float) -> float:
        return MARGIN_LEFT + (x_scale(x) - x_min) / (x_max - x_min) * plot_w

    def py(y: float) -> float:
        y = min(max(y, y_min), y_max)
        return MARGIN_TOP + (1 - (y - y_min) / (y_max - y_min)) * plot_h

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {total_h}" width="100%" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="sans-serif" font-size="12">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{total_h}" fill="white"/>',
        f'<text x="{MARGIN_LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    # Grid and axes.
    step = 1 if (y_max - y_min) <= 10 else max(1, round((y_max - y_min) / 10))
    y = y_min
    while y <= y_max + 1e-9:
        yy = _fmt(py(y))
        out.append(
            f'<line x1="{MARGIN_LEFT}" y1="{yy}" x2="{WIDTH - MARGIN_RIGHT}" y2="{yy}" '
            'stroke="#dddddd" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{yy}" text-anchor="end" '
            f'dominant-baseline="middle">{_tick_label(y)}</text>'
        )
        y += step
    for t in x_ticks:
        xx = _fmt(px(t))
        out.append(
            f'<line x1="{xx}" y1="{MARGIN_TOP}" x2="{xx}" y2="{MARGIN_TOP + plot_h}" '
            'stroke="#eeeeee" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{xx}" y="{MARGIN_TOP + plot_h + 16}" '
            f'text-anchor="middle">{_tick_label(t)}</text>'
        )
    out.append(
        f'<path d="M{MARGIN_LEFT} {MARGIN_TOP}V{MARGIN_TOP + plot_h}H{WIDTH - MARGIN_RIGHT}" '
        'fill="none" stroke="black" stroke-width="1"/>'
    )
    out.append(
        f'<text x="{MARGIN_LEFT + plot_w / 2:.1f}" y="{MARGIN_TOP + plot_h + 36}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text transform="translate(14 {MARGIN_TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    # Bands: hatched-looking light grey areas.
    for band in bands:
        if not band.lower or not band.upper:
            continue
        upper = " ".join(f"{_fmt(px(x))},{_fmt(py(v))}" for x, v in band.upper)
        lower = " ".join(f"{_fmt(px(x))},{_fmt(py(v))}" for x, v in reversed(band.lower))
        out.append(
            f'<polygon class="band" points="{upper} {lower}" fill="#cccccc" '
            f'fill-opacity="0.5" stroke="#999999" stroke-dasharray="3 3">'
            f"<title>{escape(band.label)}</title></polygon>"
        )
    # Reference lines.
    for label, value in reference_lines:
        yy = _fmt(py(value))
        out.append(
            f'<line class="reference" x1="{MARGIN_LEFT}" y1="{yy}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y2="{yy}" stroke="#555555" stroke-width="1" stroke-dasharray="6 3 1 3"/>'
        )
        out.append(
            f'<text x="{WIDTH - MARGIN_RIGHT - 4}" y="{_fmt(py(value) - 4)}" '
            f'text-anchor="end" font-size="11" fill="#333333">{escape(label)}</text>'
        )
    # Series.
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        dash = DASHES[i % len(DASHES)]
        shape = MARKERS[i % len(MARKERS)]
        pts = sorted(s.points)
        out.append(f'<g class="series" data-label="{escape(s.label)}">')
        if len(pts) > 1:
            d = "M" + "L".join(f"{_fmt(px(x))} {_fmt(py(v))}" for x, v in pts)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for x, v in pts:
            out.append(
                f'<g class="point">{_marker(shape, px(x), py(v), colour)}'
                f"<title>{escape(s.label)}: day {_tick_label(x)}, {_tick_label(v)}</title></g>"
            )
        for x, v in s.marked:
            out.append(
                f'<circle class="marked" cx="{_fmt(px(x))}" cy="{_fmt(py(v))}" r="8" '
                f'fill="none" stroke="#c00000" stroke-width="2.5">'
                f"<title>Red flag: {escape(s.label)}, day {_tick_label(x)}</title></circle>"
            )
        out.append("</g>")
    # Legend under the plot.
    ly = HEIGHT + 4
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        dash = DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{MARGIN_LEFT}" y1="{ly}" x2="{MARGIN_LEFT + 36}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        out.append(_marker(MARKERS[i % len(MARKERS)], MARGIN_LEFT + 18, ly, colour))
        out.append(
            f'<text x="{MARGIN_LEFT + 44}" y="{ly}" dominant-baseline="middle">'
            f"{escape(s.label)}</text>"
        )
        ly += 18
    for band in bands:
        out.append(
            f'<rect x="{MARGIN_LEFT}" y="{ly - 6}" width="36" height="12" fill="#cccccc" '
            'stroke="#999999" stroke-dasharray="3 3"/>'
        )
        out.append(
            f'<text x="{MARGIN_LEFT + 44}" y="{ly}" dominant-baseline="middle">'
            f"{escape(band.label)}</text>"
        )
        ly += 18
    if any(s.marked for s in series):
        out.append(
            f'<circle cx="{MARGIN_LEFT + 18}" cy="{ly}" r="7" fill="none" stroke="#c00000" '
            'stroke-width="2.5"/>'
        )
        out.append(
            f'<text x="{MARGIN_LEFT + 44}" y="{ly}" dominant-baseline="middle">'
            f"{escape(marked_label)}</text>"
        )
    out.append("</svg>")
    # Every text above is escaped; the rest is markup made here.
    return mark_safe("".join(out))  # noqa: S308  # nosec B308 B703


__all__ = ["DAY_TICKS", "Band", "Series", "line_chart", "sqrt_days"]
