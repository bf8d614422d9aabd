"""The geometry of the reports' charts, which templates draw as SVG on the server.

No JavaScript and no inline style: shapes carry classes that the stylesheet
fills, and every value is written on or beside its shape, so that a chart
reads in black and white (the period before is hatched, not only lighter)
and on paper. Each chart has a title and a description for screen readers;
the page puts the table of its numbers beside it.

Horizontal positions and widths are percentages of the chart's width and
vertical ones are pixels: the SVG takes the width of the page, from a phone
to A4, while its text keeps a readable size (a ``viewBox`` would shrink it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

LABEL_LINE = 20
BAR = 16
BAR_GAP = 3
ITEM_GAP = 12
BAR_ROOM = 78.0  # % of the width the longest bar takes; its value is written after it


@dataclass(frozen=True)
class Shape:
    """A rectangle: a bar, or a cell of the heat map (x and width in %, the rest in px)."""

    x: float
    y: float
    width: float
    height: float
    css: str


@dataclass(frozen=True)
class Label:
    x: float  # %
    y: float  # px
    text: str
    css: str = "chart-label"
    anchor: str = "start"


@dataclass(frozen=True)
class Line:
    x1: float  # %
    y1: float  # px
    x2: float
    y2: float
    css: str = "chart-grid"


@dataclass(frozen=True)
class Chart:
    key: str  # unique on the page: ids of its title and description
    title: str
    description: str
    height: float
    shapes: list[Shape] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    # (css of the swatch, text) for the legend above the chart, if any
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.shapes


def paired_bars(
    key: str,
    title: str,
    description: str,
    items: Sequence[tuple[str, float | None, float | None]],
    value_text: Callable[[float | None], str],
    legend: tuple[str, str],
) -> Chart:
    """Horizontal bars, two per item: the period (solid) and the one before (hatched),
    the item's name above them and each value just after its bar."""
    largest = max([v or 0.0 for _, a, b in items for v in (a, b)] + [0.0])
    shapes: list[Shape] = []
    labels: list[Label] = []
    y = 2.0
    for name, current, previous in items:
        labels.append(Label(0.8, y + LABEL_LINE - 6, name, "chart-label chart-name"))
        y += LABEL_LINE
        for value, css in ((current, "bar-current"), (previous, "bar-previous")):
            length = BAR_ROOM * (value or 0) / largest if largest else 0.0
            shapes.append(Shape(0, y, length, BAR, css))
            labels.append(Label(length + 1.2, y + BAR - 4, value_text(value), "chart-value"))
            y += BAR + BAR_GAP
        y += ITEM_GAP
    return Chart(
        key,
        title,
        description,
        max(y, 20.0),
        shapes,
        labels,
        [Line(0, 0, 0, max(y - ITEM_GAP, 0), "chart-axis")],
        [("bar-current", legend[0]), ("bar-previous", legend[1])],
    )


def columns(
    key: str,
    title: str,
    description: str,
    items: Sequence[tuple[str, float]],
    value_text: Callable[[float], str],
    height: float = 230,
) -> Chart:
    """Vertical bars over time, with three grid lines labelled with their value, and the
    name of every bar (of every second or third one when there are many)."""
    left, bottom, top = 13.0, 30.0, 14.0
    plot = height - bottom - top
    count = max(len(items), 1)
    step = (100 - left) / count
    width = step * 0.7
    largest = max([v for _, v in items] + [0.0])
    shapes: list[Shape] = []
    labels: list[Label] = []
    lines: list[Line] = []
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot * (1 - fraction)
        lines.append(Line(left, y, 100, y, "chart-grid" if fraction else "chart-axis"))
        labels.append(Label(left - 1.5, y + 4, value_text(largest * fraction), "chart-tick", "end"))
    every = 1 if count <= 13 else (2 if count <= 20 else 3)
    for index, (name, value) in enumerate(items):
        x = left + step * index + (step - width) / 2
        size = plot * value / largest if largest else 0.0
        shapes.append(Shape(x, top + plot - size, width, size, "bar-current"))
        if index % every == 0:
            labels.append(Label(x + width / 2, height - bottom + 17, name, "chart-tick", "middle"))
    return Chart(key, title, description, height, shapes, labels, lines)


HEAT_LEVELS = 6
HEAT_LEFT = 12.0  # % for the names of the days


def heat_map(
    key: str,
    title: str,
    description: str,
    rows: Sequence[str],
    hours: Sequence[int],
    grid: Sequence[Sequence[float]],
    value_text: Callable[[float], str],
) -> Chart:
    """A cell per weekday and hour, darker as it is more used, with its value written in
    it (white on the darker ones): readable without colour."""
    top, cell_height = 22.0, 30.0
    cell_width = (100 - HEAT_LEFT) / max(len(hours), 1)
    largest = max([v for row in grid for v in row] + [0.0])
    shapes: list[Shape] = []
    labels: list[Label] = []
    for column, hour in enumerate(hours):
        labels.append(
            Label(
                HEAT_LEFT + cell_width * (column + 0.5), top - 8, f"{hour}", "chart-tick", "middle"
            )
        )
    for row, name in enumerate(rows):
        y = top + cell_height * row
        labels.append(Label(HEAT_LEFT - 1.5, y + cell_height / 2 + 4, name, "chart-label", "end"))
        for column, hour in enumerate(hours):
            value = grid[row][hour]
            level = 0 if not value or not largest else 1 + int((HEAT_LEVELS - 2) * value / largest)
            x = HEAT_LEFT + cell_width * column
            shapes.append(Shape(x, y, cell_width, cell_height, f"heat heat-{level}"))
            if value:
                labels.append(
                    Label(
                        x + cell_width / 2,
                        y + cell_height / 2 + 4,
                        value_text(value),
                        "heat-value heat-value-dark" if level >= 3 else "heat-value",
                        "middle",
                    )
                )
    return Chart(key, title, description, top + cell_height * len(rows) + 4, shapes, labels)
