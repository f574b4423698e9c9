"""Bar charts for the statistics as plain geometry, drawn as inline SVG by templates/_chart.html.

No script and no library: the browser gets rectangles with a <title> each, and the page shows the
same numbers in a table for anyone who cannot see the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PLOT_HEIGHT = 120.0  # the tallest bar, in SVG units
LABEL_SPACE = 16.0  # under the bars, for the category labels
TOP_SPACE = 12.0  # over the bars, for the largest value


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    series: str  # a CSS class: calls, answered, abandoned
    title: str  # what a screen reader or a hover says: "14:00: 3 calls"

    @property
    def text(self) -> str:
        return _number(self.value)


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    width: float
    height: float
    bars: list[Bar]
    labels: list[Label]
    top: float  # the value the full plot height stands for
    baseline: float  # y of the bars' foot


def bar_chart(chart_id: str, title: str, categories: Sequence[str], series: dict[str, Sequence[float]],
              names: dict[str, str], *, slot: float = 24.0, label_every: int = 1) -> Chart:
    """Bars per category, one per series side by side; a bar's height is its value over the largest one.

    names gives each series' word for the bar titles ("calls", "answered"); label_every thins the labels
    under a crowded axis (every third hour, say)."""
    top = max((value for values in series.values() for value in values), default=0) or 1
    per_bar = (slot - 4) / max(len(series), 1)
    bars, labels = [], []
    baseline = TOP_SPACE + PLOT_HEIGHT
    for i, category in enumerate(categories):
        left = i * slot + 2
        for j, (name, values) in enumerate(series.items()):
            value = values[i]
            height = round(value / top * PLOT_HEIGHT, 2)
            bars.append(Bar(round(left + j * per_bar, 2), round(baseline - height, 2), round(per_bar - 1, 2),
                            height, value, name, f"{category}: {_number(value)} {names.get(name, name)}"))
        if i % label_every == 0:
            labels.append(Label(round(left + (slot - 4) / 2, 2), category))
    return Chart(chart_id, title, len(categories) * slot or slot, baseline + LABEL_SPACE, bars, labels, top,
                 baseline)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def statistics_charts(figures: dict[str, Any], words: dict[str, str]) -> list[Chart]:
    """The statistics page's charts from CallLog.stats figures; words holds the page's translations."""
    hours = figures["per_hour"]
    days = figures["per_day"]
    operators = figures["per_operator"]
    return [
        bar_chart("chart-hours", words["Calls per hour of the day"], [f"{h['hour']:02d}" for h in hours],
                  {"calls": [h["calls"] for h in hours]}, {"calls": words["calls"]}, slot=20, label_every=3),
        bar_chart("chart-days", words["Calls per day"], [d["date"][5:] for d in days],
                  {"calls": [d["calls"] for d in days]}, {"calls": words["calls"]}, slot=36),
        bar_chart("chart-answered", words["Answered and abandoned"], [d["date"][5:] for d in days],
                  {"answered": [d["answered"] for d in days], "abandoned": [d["abandoned"] for d in days]},
                  {"answered": words["answered"], "abandoned": words["abandoned"]}, slot=36),
        bar_chart("chart-operators", words["Answered per operator"], [o["operator"] or "—" for o in operators],
                  {"answered": [o["answered"] for o in operators]}, {"answered": words["answered"]}, slot=64),
    ]


def hours_today(per_hour: list[dict[str, Any]], words: dict[str, str]) -> Chart:
    """The dashboard's small chart: today's calls by hour."""
    return bar_chart("chart-today", words["Calls today by hour"], [f"{h['hour']:02d}" for h in per_hour],
                     {"calls": [h["calls"] for h in per_hour]}, {"calls": words["calls"]}, slot=12, label_every=6)


CHART_WORDS = ("Calls today by hour", "Calls per hour of the day", "Calls per day", "Answered and abandoned",
               "Answered per operator", "calls", "answered", "abandoned")
