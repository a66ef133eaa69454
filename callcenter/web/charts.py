"""Charts drawn on the server as inline SVG: no chart library, no script, no CDN.

Each chart is an ``<svg role="img">`` with a title and a description that reads out
every value, so a screen reader gets the numbers the eye gets from the bars.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, BAR_H, GAP, LABEL_W, VALUE_W = 640, 22, 6, 190, 70
COLUMNS_WIDTH = 1100  # wide and low: a time axis across the page


def bar_chart(
    chart_id: str, title: str, items: Sequence[tuple[str, float]], unit: str = ""
) -> Markup:
    """Horizontal bars, one per (label, value); values are shown at the bar's end."""
    if not items:
        return Markup('<p class="muted">No data for this period.</p>')
    top = max(value for _, value in items) or 1.0
    span = WIDTH - LABEL_W - VALUE_W
    height = len(items) * (BAR_H + GAP) + GAP
    rows = []
    described = []
    for i, (label, value) in enumerate(items):
        y = GAP + i * (BAR_H + GAP)
        w = max(1.0, span * value / top)
        text = _number(value) + unit
        described.append(f"{label}: {text}")
        rows.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.7:.1f}" text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" class="bar">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + BAR_H * 0.7:.1f}">{escape(text)}</text>'
        )
    return Markup(
        f'<svg class="chart bars" font-size="15" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape("; ".join(described))}</desc>'
        + "".join(rows)
        + "</svg>"
    )


def column_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]]) -> Markup:
    """Vertical columns over time (calls per hour); the first and last labels are shown."""
    if not items:
        return Markup('<p class="muted">No calls in this period.</p>')
    height, base = 160, 140
    top = max(value for _, value in items) or 1.0
    step = COLUMNS_WIDTH / len(items)
    cols = []
    for i, (label, value) in enumerate(items):
        h = (base - 10) * value / top
        cols.append(
            f'<rect x="{i * step + 1:.1f}" y="{base - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" class="bar"><title>{escape(label)}: {_number(value)}</title></rect>'
        )
    first, last = escape(items[0][0]), escape(items[-1][0])
    total = sum(value for _, value in items)
    return Markup(
        f'<svg class="chart columns" font-size="13" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {COLUMNS_WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{len(items)} hours with calls from {first} to {last}, '
        f"{_number(total)} calls, at most {_number(top)} in one hour.</desc>"
        + "".join(cols)
        + f'<line x1="0" y1="{base}" x2="{COLUMNS_WIDTH}" y2="{base}" class="axis"/>'
        f'<text x="0" y="{height - 4}">{first}</text>'
        f'<text x="{COLUMNS_WIDTH}" y="{height - 4}" text-anchor="end">{last}</text>'
        "</svg>"
    )


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
