"""Small, self-contained SVG charts for documents (the executive report): no library, no network.

Each chart is one ``<svg>`` element with ``role="img"``, a ``<title>`` and a ``<desc>`` (its
text alternative), axis titles and the value of every bar written next to it, so it reads the
same on screen, in print and to a screen reader. Colours are passed in (one per bar).
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Sequence

_FONT = 'font-family="Helvetica, Arial, sans-serif"'
_INK = "#1c2430"
_GRID = "#d9dee5"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(top: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values from 0 to at least ``top`` (1, 2, 2.5 or 5 times 10^k)."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _tick_text(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:,.2g}"


def _frame(width: int, height: int, title: str, desc: str, body: list[str], labelled: str) -> str:
    uid = hashlib.sha1(f"{labelled}|{desc}".encode()).hexdigest()[:8]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="t{uid} d{uid}" {_FONT} '
        f'font-size="12" fill="{_INK}" data-chart="{_e(labelled)}">'
        f'<title id="t{uid}">{_e(title)}</title><desc id="d{uid}">{_e(desc)}</desc>'
        f'<text x="0" y="16" font-size="15" font-weight="600">{_e(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    labels: Sequence[object],
    values: Sequence[float],
    *,
    title: str,
    x_title: str,
    y_title: str,
    colours: Sequence[str] | None = None,
    horizontal: bool = False,
    value_format: str = "{:,.0f}",
    desc: str | None = None,
    width: int = 560,
    height: int | None = None,
) -> str:
    """A bar chart as an SVG string.

    Parameters
    ----------
    labels, values
        One bar per label (values >= 0; negative values are drawn as 0-length bars).
    title, x_title, y_title
        The chart's title and the titles of its horizontal and vertical axes.
    colours
        One colour per bar (default one blue).
    horizontal
        Bars from the left (labels on the vertical axis), for long labels.
    value_format
        How the value written at each bar reads.
    desc
        The text alternative (default: every label with its value).
    """
    vals = [max(float(v), 0.0) if math.isfinite(float(v)) else 0.0 for v in values]
    cols = list(colours) if colours is not None else ["#0072B2"] * len(vals)
    text = [value_format.format(float(v)) for v in values]
    desc = desc or f"{title}: " + "; ".join(
        f"{lab} {t}" for lab, t in zip(labels, text, strict=True)
    )
    ticks = nice_ticks(max(vals, default=0.0))
    top = ticks[-1]
    body: list[str] = []
    if horizontal:
        height = height or 60 + 28 * len(vals) + 40
        left, right, y0, y1 = 190, width - 60, 34, height - 42
        band = (y1 - y0) / max(len(vals), 1)
        for t in ticks:
            x = left + (right - left) * t / top
            body.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y1}" stroke="{_GRID}"/>')
            body.append(
                f'<text x="{x:.1f}" y="{y1 + 14}" text-anchor="middle">{_tick_text(t)}</text>'
            )
        for i, (lab, v, c, shown) in enumerate(zip(labels, vals, cols, text, strict=True)):
            y = y0 + i * band + band * 0.15
            w = (right - left) * v / top
            body.append(
                f'<text x="{left - 6}" y="{y + band * 0.45:.1f}" text-anchor="end">{_e(lab)}</text>'
                f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{band * 0.7:.1f}" '
                f'fill="{_e(c)}"/><text x="{left + w + 4:.1f}" y="{y + band * 0.45:.1f}">{_e(shown)}</text>'
            )
        body.append(
            f'<text x="{(left + right) / 2:.0f}" y="{height - 6}" text-anchor="middle">'
            f"{_e(x_title)}</text>"
            f'<text x="12" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {(y0 + y1) / 2:.0f})">{_e(y_title)}</text>'
        )
    else:
        height = height or 300
        left, right, y0, y1 = 64, width - 10, 40, height - 58
        band = (right - left) / max(len(vals), 1)
        for t in ticks:
            y = y1 - (y1 - y0) * t / top
            body.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{_GRID}"/>'
            )
            body.append(
                f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_text(t)}</text>'
            )
        for i, (lab, v, c, shown) in enumerate(zip(labels, vals, cols, text, strict=True)):
            x = left + i * band + band * 0.15
            h = (y1 - y0) * v / top
            body.append(
                f'<rect x="{x:.1f}" y="{y1 - h:.1f}" width="{band * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{_e(c)}"/><text x="{x + band * 0.35:.1f}" y="{y1 - h - 4:.1f}" '
                f'text-anchor="middle">{_e(shown)}</text><text x="{x + band * 0.35:.1f}" y="{y1 + 14}" '
                f'text-anchor="middle">{_e(lab)}</text>'
            )
        body.append(
            f'<text x="{(left + right) / 2:.0f}" y="{height - 8}" text-anchor="middle">'
            f"{_e(x_title)}</text>"
            f'<text x="14" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(y0 + y1) / 2:.0f})">{_e(y_title)}</text>'
        )
    return _frame(width, height, title, desc, body, title)


def histogram_chart(
    left_edges: Sequence[float],
    right_edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str,
    x_title: str,
    y_title: str,
    colour: str = "#D55E00",
    percent: bool = True,
    desc: str | None = None,
    width: int = 560,
    height: int = 260,
) -> str:
    """Contiguous bars of ``counts`` per band ``[left, right)`` as an SVG string.

    ``percent`` writes the band edges on the horizontal axis as percentages.
    """
    n = [max(int(c), 0) for c in counts]
    lo, hi = float(left_edges[0]), float(right_edges[-1])
    ticks = nice_ticks(max(n, default=0))
    top = ticks[-1]
    x0, x1, y0, y1 = 64, width - 14, 40, height - 50
    fmt = "{:.0%}" if percent else "{:,.2g}"
    if desc is None:
        peak = max(range(len(n)), key=n.__getitem__) if n else 0
        desc = (
            f"{title}: {sum(n):,} customers in {len(n)} bands from {fmt.format(lo)} to "
            f"{fmt.format(hi)}; most in {fmt.format(left_edges[peak])}-"
            f"{fmt.format(right_edges[peak])} ({n[peak] if n else 0:,})"
        )
    body: list[str] = []
    for t in ticks:
        y = y1 - (y1 - y0) * t / top
        body.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="{_GRID}"/>')
        body.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_text(t)}</text>')
    scale = (x1 - x0) / (hi - lo) if hi > lo else 0.0
    for a, b, c in zip(left_edges, right_edges, n, strict=True):
        h = (y1 - y0) * c / top
        body.append(
            f'<rect x="{x0 + (float(a) - lo) * scale + 0.5:.1f}" y="{y1 - h:.1f}" '
            f'width="{max((float(b) - float(a)) * scale - 1, 0.5):.1f}" height="{h:.1f}" '
            f'fill="{_e(colour)}"><title>{fmt.format(a)}-{fmt.format(b)}: {c:,}</title></rect>'
        )
    for v in nice_ticks(hi - lo, 5):
        x = x0 + v * scale
        body.append(
            f'<text x="{x:.1f}" y="{y1 + 14}" text-anchor="middle">{fmt.format(lo + v)}</text>'
        )
    body.append(
        f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 8}" text-anchor="middle">{_e(x_title)}</text>'
        f'<text x="14" y="{(y0 + y1) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(y0 + y1) / 2:.0f})">{_e(y_title)}</text>'
    )
    return _frame(width, height, title, desc, body, title)
