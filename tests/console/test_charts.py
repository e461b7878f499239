"""Chart SVGs: inline-safe under a strict CSP (no <script>), and named for screen readers."""

from __future__ import annotations

from markupsafe import Markup

from triad_admin import charts

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def _all_charts() -> list[Markup]:
    built = [
        charts.line_chart("Win rate", DAYS, {"teacher": [0.5, None, 1.0]}, percent=True),
        charts.bar_chart("Consensus", ["0.0", "0.1", "0.2"], [1, 0, 4]),
        charts.stacked_bar_chart("Cost", DAYS, {"openai": [0.1, 0.2, 0.0], "local": [0, 0, 0.3]}),
    ]
    assert all(chart is not None for chart in built)
    return [chart for chart in built if chart is not None]


def test_chart_svgs_hold_no_script() -> None:
    for svg in _all_charts():
        assert "<script" not in svg.lower()
        assert "window.pygal" not in svg
        assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")


def test_chart_svgs_are_one_titled_image() -> None:
    for svg, title in zip(_all_charts(), ("Win rate", "Consensus", "Cost"), strict=True):
        assert f'<svg role="img" aria-label="{title}"' in svg
        assert f"<title>{title}</title>" in svg


def test_no_data_gives_no_chart() -> None:
    assert charts.line_chart("Empty", DAYS, {"teacher": [None, None, None]}) is None
    assert charts.bar_chart("Empty", ["0.0"], [0]) is None
    assert charts.stacked_bar_chart("Empty", DAYS, {"openai": [0, 0, 0]}) is None
