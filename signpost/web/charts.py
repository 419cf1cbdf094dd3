"""Charts as server-rendered SVG: no chart library and no script, styled by class (the CSP allows no inline style)."""

from dataclasses import dataclass
from html import escape

WIDTH = 640
LEFT = 150
RIGHT = 60
BAR_HEIGHT = 22
GAP = 8


@dataclass(frozen=True)
class Point:
    label: str
    value: int | None  # None: suppressed


def _nice_max(values: list[int]) -> int:
    top = max([v for v in values if v] or [1])
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= step * 5:
            return ((top + step - 1) // step) * step
    return top


def bars(title: str, points: list[Point], *, chart_id: str, left: int = LEFT) -> str:
    """Horizontal bars, one per label; suppressed values drawn as an empty dashed bar and labelled."""
    top = _nice_max([p.value or 0 for p in points])
    height = len(points) * (BAR_HEIGHT + GAP) + 30
    span = WIDTH - left - RIGHT
    parts = [
        f'<svg class="sp-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{chart_id}-title" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-title">{escape(title)}</title>'
    ]
    for i, point in enumerate(points):
        y = 10 + i * (BAR_HEIGHT + GAP)
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(point.label)}</text>')
        if point.value is None:
            parts.append(
                f'<rect class="sp-bar-suppressed" x="{left}" y="{y}" width="{span * 0.08:.1f}" height="{BAR_HEIGHT}"/>'
            )
            parts.append(f'<text x="{left + span * 0.08 + 6:.1f}" y="{y + 16}">suppressed</text>')
        else:
            width = span * point.value / top if top else 0
            parts.append(f'<rect class="sp-bar" x="{left}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}"/>')
            parts.append(f'<text x="{left + width + 6:.1f}" y="{y + 16}">{point.value}</text>')
    parts.append(f'<line class="sp-axis" x1="{left}" y1="5" x2="{left}" y2="{height - 15}"/>')
    parts.append("</svg>")
    return "".join(parts)


def line(title: str, points: list[Point], *, chart_id: str) -> str:
    """A line over time; a suppressed month breaks the line and is marked."""
    height = 260
    bottom, top_margin = 200, 20
    top = _nice_max([p.value or 0 for p in points])
    step = (WIDTH - 80) / max(len(points) - 1, 1)
    parts = [
        f'<svg class="sp-chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{chart_id}-title" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-title">{escape(title)}</title>',
        f'<line class="sp-axis" x1="50" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}"/>',
        f'<line class="sp-axis" x1="50" y1="{top_margin}" x2="50" y2="{bottom}"/>',
        f'<text x="44" y="{top_margin + 5}" text-anchor="end">{top}</text>',
        f'<text x="44" y="{bottom + 5}" text-anchor="end">0</text>',
    ]
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, point in enumerate(points):
        x = 60 + i * step
        if point.value is None:
            if segment:
                segments.append(segment)
                segment = []
            parts.append(f'<text x="{x:.1f}" y="{bottom - 6}" text-anchor="middle">*</text>')
        else:
            y = bottom - (bottom - top_margin) * point.value / top if top else bottom
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle class="sp-bar" cx="{x:.1f}" cy="{y:.1f}" r="4"/>')
        if len(points) <= 12 or i % max(len(points) // 12, 1) == 0:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="middle">{escape(point.label)}</text>')
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline class="sp-line" points="{" ".join(seg)}"/>')
    parts.append("</svg>")
    return "".join(parts)


def shade(value: int | None, top: int) -> str:
    """The heat class for a table cell: 0 for zero or suppressed, 1 to 5 by share of the largest count."""
    if not value or not top:
        return "sp-heat-0"
    return f"sp-heat-{min(5, 1 + int(4 * value / top))}"
