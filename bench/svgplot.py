"""A tiny hand-written SVG line chart with logarithmic axes, for the bench scripts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 210, 40, 60  # margins; the legend sits in the right one


@dataclass(frozen=True)
class Series:
    """One line: a label, its (x, y) points, a CSS colour and an SVG dash pattern."""

    label: str
    points: list[tuple[float, float]]
    color: str
    dash: str = ""


def _ticks(lo: float, hi: float) -> list[float]:
    """Return 1-2-5 ticks per decade covering [lo, hi]."""
    out = []
    for exp in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for step in (1, 2, 5):
            value = step * 10.0**exp
            if lo <= value <= hi:
                out.append(value)
    return out


def _el(tag: str, text: str = "", /, **attrs: object) -> str:
    """Return one SVG element; ``font_size=`` becomes ``font-size=``, None drops it."""
    parts = [tag]
    for key, value in attrs.items():
        if value is not None:
            shown = f"{value:.1f}" if isinstance(value, float) else escape(str(value))
            parts.append(f'{key.replace("_", "-")}="{shown}"')
    head = " ".join(parts)
    return f"<{head}>{escape(text)}</{tag}>" if text else f"<{head}/>"


def _label(value: float) -> str:
    return f"{value:g}" if value < 1e4 else f"1e{round(math.log10(value))}"


def line_chart(
    series: list[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    hline: tuple[float, str] | None = None,
) -> str:
    """Return an SVG document plotting ``series`` on log-log axes; ``hline`` = (y, label)."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points] + ([hline[0]] if hline else [])
    x_lo, x_hi = min(xs), max(xs)
    # Round the y range out to 1-2-5 steps so the ticks frame the data.
    y_lo = max(t for t in _ticks(min(ys) / 10, min(ys)) if t <= min(ys))
    y_hi = min(t for t in _ticks(max(ys), max(ys) * 10) if t >= max(ys))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + plot_w * math.log(x / x_lo) / math.log(x_hi / x_lo)

    def py(y: float) -> float:
        return TOP + plot_h * (1 - math.log(y / y_lo) / math.log(y_hi / y_lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        _el("rect", width=WIDTH, height=HEIGHT, fill="white"),
        _el("text", title, x=LEFT, y=24, font_size=15),
    ]
    bottom, right = TOP + plot_h, LEFT + plot_w
    for x in _ticks(x_lo, x_hi):
        out.append(_el("line", x1=px(x), y1=TOP, x2=px(x), y2=bottom, stroke="#ddd"))
        out.append(_el("text", _label(x), x=px(x), y=bottom + 16, text_anchor="middle"))
    for y in _ticks(y_lo, y_hi):
        out.append(_el("line", x1=LEFT, y1=py(y), x2=right, y2=py(y), stroke="#ddd"))
        out.append(_el("text", _label(y), x=LEFT - 6, y=py(y) + 4, text_anchor="end"))
    out.append(_el("rect", x=LEFT, y=TOP, width=plot_w, height=plot_h, fill="none", stroke="black"))
    out.append(_el("text", x_label, x=LEFT + plot_w / 2, y=HEIGHT - 18, text_anchor="middle"))
    out.append(
        _el(
            "text",
            y_label,
            transform=f"translate(18 {TOP + plot_h / 2}) rotate(-90)",
            text_anchor="middle",
        )
    )
    if hline:
        y, text = hline
        out.append(
            _el("line", x1=LEFT, y1=py(y), x2=right, y2=py(y), stroke="red", stroke_dasharray="2 3")
        )
        out.append(_el("text", text, x=right - 4, y=py(y) - 5, text_anchor="end", fill="red"))
    for i, s in enumerate(series):
        style = {"stroke": s.color, "stroke_width": 2, "stroke_dasharray": s.dash or None}
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        out.append(_el("polyline", points=path, fill="none", **style))
        out.extend(_el("circle", cx=px(x), cy=py(y), r=3, fill=s.color) for x, y in s.points)
        lx, ly = right + 14, TOP + 10 + 20 * i  # legend entry
        out.append(_el("line", x1=lx, y1=ly, x2=lx + 28, y2=ly, **style))
        out.append(_el("text", s.label, x=lx + 34, y=ly + 4))
    out.append("</svg>")
    return "\n".join(out) + "\n"
