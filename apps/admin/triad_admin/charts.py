"""Server-side SVG charts (pygal), embedded inline: no JavaScript, no external assets.

pygal writes an inline <script> with its config into every SVG even with js=[]; an XML filter
drops it before serialisation, so the pages hold no inline script a strict CSP would block.

Every builder returns None when there is nothing to draw, so a template shows a clear
"no data yet" message instead of an empty or broken chart; the pages also print the same data
as a table for screen readers and for anyone who wants the numbers.
"""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

# pygal appends a legacy meta-path finder (for external map plugins, unused here) that has no
# find_spec, so every later failed import warns (ImportWarning, an error under our tests).
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d1f23",
    foreground_strong="#1d1f23",
    foreground_subtle="#5b6270",
    font_family="system-ui, sans-serif",
    colors=("#1f5fbf", "#d9822b", "#1b7a3a", "#b3261e", "#7a4fbf", "#00838f", "#8a5a00"),
)

Series = Mapping[str, Sequence[float | None]]


def _drop_scripts(root: Any) -> Any:
    """pygal's XML filter hook: remove every <script> element (its config blob, any js)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _options(title: str, **extra: Any) -> dict[str, Any]:
    """Shared options: no JS files (js=[]; _svg drops the config script), no XML declaration."""
    return {
        "title": title,
        "js": [],
        "disable_xml_declaration": True,
        "style": STYLE,
        "height": 360,
        "width": 800,
        "legend_at_bottom": True,
        "truncate_legend": 40,
        "x_label_rotation": 30,
        **extra,
    }


def _svg(chart: Any, title: str) -> Markup:
    """Render (without scripts) and label the SVG as one image named by the chart's title."""
    chart.add_xml_filter(_drop_scripts)
    svg: str = chart.render(is_unicode=True)
    label = html.escape(title, quote=True)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def _has_points(series: Series) -> bool:
    return any(v is not None for values in series.values() for v in values)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Series,
    *,
    percent: bool = False,
    y_title: str = "",
) -> Markup | None:
    """A line per series over days (x_labels); None values leave gaps."""
    if not x_labels or not _has_points(series):
        return None
    formatter = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:g}")
    chart = pygal.Line(
        **_options(title, y_title=y_title, value_formatter=formatter, allow_interruptions=True)
    )
    if percent:
        chart.range = (0, 1)
    if len(x_labels) > 14:
        chart.x_labels_major_every = math.ceil(len(x_labels) / 10)
        chart.show_minor_x_labels = False
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart, title)


def bar_chart(
    title: str, x_labels: Sequence[str], counts: Sequence[float], *, y_title: str = ""
) -> Markup | None:
    """One bar per label (used for the consensus histogram); None when every count is 0."""
    if not x_labels or not any(counts):
        return None
    chart = pygal.Bar(**_options(title, y_title=y_title, show_legend=False))
    step = max(1, math.ceil(max(counts) / 10))
    chart.y_labels = list(range(0, int(max(counts)) + step, step))
    chart.x_labels = list(x_labels)
    chart.add(title, list(counts))
    return _svg(chart, title)


def stacked_bar_chart(
    title: str, x_labels: Sequence[str], series: Series, *, y_title: str = ""
) -> Markup | None:
    """Bars stacked by series (costs per day, stacked by provider)."""
    if not x_labels or not any(v for values in series.values() for v in values if v):
        return None
    chart = pygal.StackedBar(
        **_options(title, y_title=y_title, value_formatter=lambda v: f"${v:,.4f}")
    )
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _svg(chart, title)
