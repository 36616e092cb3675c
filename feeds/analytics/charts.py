"""Server-side SVG charts for the downloads dashboard: no JavaScript, readable by screen readers.

Built with :mod:`xml.etree.ElementTree` (every label escaped by the XML
writer, never by hand). Each chart is ``role="img"`` with a ``<title>`` and a
``<desc>`` (WAI-ARIA graphics: https://www.w3.org/TR/graphics-aria-1.0/), real
axes with ticks and labels, and a ``<title>`` on every bar as its tooltip.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date

from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#417690", "#d4a017", "#8a4f7d")  # admin blue, then two distinct hues
FONT = "font-family:system-ui,sans-serif;font-size:11px;fill:#333"


def nice_ticks(maximum: int, count: int = 5) -> list[int]:
    """Round tick values from 0 covering ``maximum`` (1, 2 or 5 times a power of ten apart)."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


def _svg(chart_id: str, width: int, height: int, title: str, desc: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "id": chart_id,
            "class": "chart",
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = desc
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(
        parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "style": FONT, **attrs}
    )
    element.text = text
    return element


def _render(svg: ET.Element) -> SafeString:
    return mark_safe(ET.tostring(svg, encoding="unicode"))  # noqa: S308 (escaped by ElementTree)


def daily_bars(
    chart_id: str, days: Sequence[tuple[date, int]], *, title: str, desc: str
) -> SafeString:
    """A vertical bar per day, a y axis of downloads, dates labelled every two weeks."""
    width, height = 900, 260
    left, right, top, bottom = 48, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    svg = _svg(chart_id, width, height, title, desc)
    ticks = nice_ticks(max((n for _, n in days), default=0))
    scale = plot_h / ticks[-1]
    axes = ET.SubElement(svg, "g", {"class": "axes"})
    for tick in ticks:
        y = top + plot_h - tick * scale
        ET.SubElement(
            axes,
            "line",
            {
                "x1": str(left),
                "x2": str(width - right),
                "y1": f"{y:.1f}",
                "y2": f"{y:.1f}",
                "stroke": "#ddd",
            },
        )
        _text(axes, left - 6, y + 4, f"{tick:,}", **{"text-anchor": "end", "class": "y-tick"})
    ET.SubElement(
        axes,
        "line",
        {
            "x1": str(left),
            "x2": str(left),
            "y1": str(top),
            "y2": str(top + plot_h),
            "stroke": "#333",
        },
    )
    ET.SubElement(
        axes,
        "line",
        {
            "x1": str(left),
            "x2": str(width - right),
            "y1": str(top + plot_h),
            "y2": str(top + plot_h),
            "stroke": "#333",
        },
    )
    _text(
        axes,
        12,
        top + plot_h / 2,
        "Downloads",
        transform=f"rotate(-90 12 {top + plot_h / 2:.1f})",
        **{"text-anchor": "middle"},
    )
    slot = plot_w / max(1, len(days))
    bars = ET.SubElement(svg, "g", {"class": "bars"})
    for i, (day, n) in enumerate(days):
        x = left + i * slot
        h = n * scale
        bar = ET.SubElement(
            bars,
            "rect",
            {
                "class": "bar",
                "x": f"{x + slot * 0.1:.1f}",
                "y": f"{top + plot_h - h:.1f}",
                "width": f"{slot * 0.8:.1f}",
                "height": f"{h:.1f}",
                "fill": COLOURS[0],
                "data-value": str(n),
            },
        )
        ET.SubElement(bar, "title").text = f"{day:%a %d %b %Y}: {n:,} downloads"
        if i % 14 == 0 or (i == len(days) - 1 and i % 14 >= 7):  # no overlap
            _text(
                svg,
                x + slot / 2,
                height - bottom + 16,
                f"{day:%d %b}",
                **{"text-anchor": "middle", "class": "x-tick"},
            )
    return _render(svg)


def horizontal_bars(
    chart_id: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    *,
    series: Sequence[str],
    title: str,
    desc: str,
) -> SafeString:
    """One labelled group of horizontal bars per row (one bar per series), with an x axis."""
    per_bar, gap = 14, 10
    group = per_bar * len(series) + gap
    left, right, top = 220, 60, 28 if len(series) > 1 else 8
    width = 900
    height = top + max(1, len(rows)) * group + 30
    plot_w = width - left - right
    svg = _svg(chart_id, width, height, title, desc)
    ticks = nice_ticks(max((v for _, values in rows for v in values), default=0))
    scale = plot_w / ticks[-1]
    axes = ET.SubElement(svg, "g", {"class": "axes"})
    bottom = top + max(1, len(rows)) * group
    for tick in ticks:
        x = left + tick * scale
        ET.SubElement(
            axes,
            "line",
            {
                "x1": f"{x:.1f}",
                "x2": f"{x:.1f}",
                "y1": str(top),
                "y2": str(bottom),
                "stroke": "#ddd",
            },
        )
        _text(axes, x, bottom + 14, f"{tick:,}", **{"text-anchor": "middle", "class": "x-tick"})
    ET.SubElement(
        axes,
        "line",
        {"x1": str(left), "x2": str(left), "y1": str(top), "y2": str(bottom), "stroke": "#333"},
    )
    if len(series) > 1:
        for i, name in enumerate(series):
            ET.SubElement(
                svg,
                "rect",
                {
                    "x": str(left + i * 140),
                    "y": "6",
                    "width": "12",
                    "height": "12",
                    "fill": COLOURS[i % len(COLOURS)],
                },
            )
            _text(svg, left + i * 140 + 18, 16, name, **{"class": "legend"})
    bars = ET.SubElement(svg, "g", {"class": "bars"})
    if not rows:
        _text(svg, left + 8, top + 16, "No downloads yet.")
    for r, (label, values) in enumerate(rows):
        y0 = top + r * group
        shown = label if len(label) <= 34 else label[:33] + "…"
        _text(svg, left - 8, y0 + group / 2, shown, **{"text-anchor": "end", "class": "label"})
        for s, value in enumerate(values):
            y = y0 + s * per_bar
            bar = ET.SubElement(
                bars,
                "rect",
                {
                    "class": "bar",
                    "x": str(left),
                    "y": str(y),
                    "width": f"{value * scale:.1f}",
                    "height": str(per_bar - 2),
                    "fill": COLOURS[s % len(COLOURS)],
                    "data-value": str(value),
                },
            )
            ET.SubElement(bar, "title").text = f"{label} — {series[s]}: {value:,}"
            _text(
                svg, left + value * scale + 4, y + per_bar - 4, f"{value:,}", **{"class": "value"}
            )
    return _render(svg)
