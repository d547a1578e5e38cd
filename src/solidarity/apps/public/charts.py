"""Inline SVG charts, drawn on the server: no script, no chart library, readable on a phone.

Every chart is an <svg role="img"> with a <title> and a <desc> that states its numbers in
words, so a screen reader gets what a sighted visitor sees. Callers pass labels already
formatted for the visitor's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 320
HEIGHT = 180
PAD_LEFT = 8
PAD_RIGHT = 8
PAD_TOP = 22
PAD_BOTTOM = 22


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as the visitor reads it


def _svg(title: str, desc: str, body: str, height: int = HEIGHT) -> SafeString:
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{body}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 (every text above is escaped)


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "lbl") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{escape(text)}</text>'
    )


def progress_chart(
    *,
    title: str,
    desc: str,
    points: Sequence[tuple[float, float]],
    goal: float,
    start_label: str,
    end_label: str,
    goal_label: str,
) -> SafeString:
    """Cumulative amount against the goal. `points` are (x in 0..1, cumulative amount)."""
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    top = max([goal, *(y for _, y in points)]) * 1.05 or 1.0

    def xy(x: float, y: float) -> str:
        return f"{PAD_LEFT + x * inner_w:.1f},{PAD_TOP + inner_h - (y / top) * inner_h:.1f}"

    base = PAD_TOP + inner_h
    parts = [
        f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" class="axis"/>'
    ]
    if points:
        line = " ".join(xy(x, y) for x, y in [(0.0, 0.0), *points])
        area = f"{line} {xy(points[-1][0], 0)}"
        parts.append(f'<polygon points="{area}" class="area"/>')
        parts.append(f'<polyline points="{line}" class="line"/>')
    goal_y = PAD_TOP + inner_h - (goal / top) * inner_h
    parts.append(
        f'<line x1="{PAD_LEFT}" y1="{goal_y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{goal_y:.1f}" '
        'class="goal"/>'
    )
    parts.append(_text(PAD_LEFT + 2, goal_y - 4, goal_label))
    parts.append(_text(PAD_LEFT, HEIGHT - 6, start_label))
    parts.append(_text(WIDTH - PAD_RIGHT, HEIGHT - 6, end_label, "end"))
    return _svg(title, desc, "".join(parts))


def column_chart(
    *, title: str, desc: str, bars: Sequence[Bar], start_label: str, end_label: str, peak: str
) -> SafeString:
    """Vertical bars in time order (gifts per hour); labels only at both ends and the peak."""
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    top = max((b.value for b in bars), default=0) or 1.0
    step = inner_w / max(len(bars), 1)
    parts = []
    for i, b in enumerate(bars):
        h = (b.value / top) * inner_h
        parts.append(
            f'<rect x="{PAD_LEFT + i * step + step * 0.1:.1f}" y="{PAD_TOP + inner_h - h:.1f}" '
            f'width="{step * 0.8:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(b.label)}: {escape(b.shown)}</title></rect>"
        )
    base = PAD_TOP + inner_h
    parts.append(
        f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" class="axis"/>'
    )
    parts.append(_text(PAD_LEFT, 14, peak))
    parts.append(_text(PAD_LEFT, HEIGHT - 6, start_label))
    parts.append(_text(WIDTH - PAD_RIGHT, HEIGHT - 6, end_label, "end"))
    return _svg(title, desc, "".join(parts))


def bar_chart(*, title: str, desc: str, bars: Sequence[Bar]) -> SafeString:
    """Horizontal bars, one labelled row each (gift sizes, channels)."""
    row = 26
    height = PAD_TOP // 2 + row * max(len(bars), 1)
    top = max((b.value for b in bars), default=0) or 1.0
    label_w = 104
    value_w = 64
    inner_w = WIDTH - label_w - value_w - PAD_RIGHT
    parts = []
    for i, b in enumerate(bars):
        y = PAD_TOP // 2 + i * row
        w = max((b.value / top) * inner_w, 1.0 if b.value else 0.0)
        parts.append(_text(label_w - 6, y + 16, b.label, "end"))
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" class="bar"/>'
        )
        parts.append(_text(label_w + w + 4, y + 16, b.shown))
    return _svg(title, desc, "".join(parts), height)
