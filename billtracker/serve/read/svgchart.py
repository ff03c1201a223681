"""Server-side SVG: one horizontal box per stage (min-max whisker, quartile box, median tick), so
the chart needs no JavaScript and reads in any browser, screen reader included (title + table)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

ROW = 30
LABEL_W = 130
PLOT_W = 420
RIGHT_W = 120


def box_chart(stats: list[dict[str, Any]], title: str) -> Markup:
    """`stats` rows carry stage_label, n, median, q1, q3, min, max (days)."""
    if not stats:
        return Markup("")
    top = max(max(s["max"] for s in stats), 1)
    height = ROW * len(stats) + 40
    width = LABEL_W + PLOT_W + RIGHT_W

    def x(days: float) -> float:
        return LABEL_W + PLOT_W * days / top

    parts = [
        f'<svg class="box-chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for i, s in enumerate(stats):
        y = 10 + i * ROW
        mid = y + ROW / 2
        parts.append(
            f'<g class="box-row"><title>{escape(s["stage_label"])}: median {s["median"]:g} days, '
            f"quartiles {s['q1']:g}–{s['q3']:g}, range {s['min']}–{s['max']}, n={s['n']}</title>"
        )
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{mid + 5}" text-anchor="end" class="label">'
            f"{escape(s['stage_label'])}</text>"
        )
        parts.append(
            f'<line x1="{x(s["min"]):.1f}" x2="{x(s["max"]):.1f}" y1="{mid}" y2="{mid}" class="whisker"/>'
        )
        box_w = max(x(s["q3"]) - x(s["q1"]), 2)
        parts.append(
            f'<rect x="{x(s["q1"]):.1f}" y="{y + 6}" width="{box_w:.1f}" height="{ROW - 12}" class="box"/>'
        )
        parts.append(
            f'<line x1="{x(s["median"]):.1f}" x2="{x(s["median"]):.1f}" y1="{y + 4}" y2="{y + ROW - 4}" '
            'class="median"/>'
        )
        parts.append(
            f'<text x="{LABEL_W + PLOT_W + 8}" y="{mid + 5}" class="value">'
            f"{s['median']:g} 天 (n={s['n']})</text></g>"
        )
    axis_y = 10 + len(stats) * ROW + 4
    parts.append(f'<line x1="{LABEL_W}" x2="{LABEL_W + PLOT_W}" y1="{axis_y}" y2="{axis_y}" class="axis"/>')
    for tick in (0, top // 2, top):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{axis_y + 18}" text-anchor="middle" class="tick">{tick}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
