"""Charts drawn as SVG on the server: geometry here, markup in templates/governance/charts/.

No script and no style attributes (presentation attributes only), so they pass a strict CSP.
"""

from dataclasses import dataclass

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 44, 44, 16, 40


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    href: str
    title: str


def trend_chart(buckets, label_format):
    """Volume as bars (left axis) and compliance % as a line with points (right axis)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = max(len(buckets), 1)
    slot = plot_w / n
    top_volume = max([b.findings for b in buckets] + [1])
    bars, points = [], []
    for i, b in enumerate(buckets):
        h = plot_h * b.findings / top_volume
        x = LEFT + i * slot + slot * 0.15
        label = b.start.strftime(label_format)
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(TOP + plot_h - h, 1),
                width=round(slot * 0.7, 1),
                height=round(h, 1),
                label=label,
                value=b.findings,
                href=b.links.get("findings", ""),
                title=f"{label}: {b.findings} findings",
            )
        )
        pct = b.on_time_percent
        if pct is not None:
            points.append(
                {
                    "x": round(LEFT + i * slot + slot / 2, 1),
                    "y": round(TOP + plot_h - plot_h * pct / 100, 1),
                    "pct": pct,
                    "href": b.links.get("on_time", ""),
                    "title": f"{label}: {pct}% contacted within deadline",
                }
            )
    label_every = max(1, n // 12)
    for i, bar in enumerate(bars):
        bar.show_label = i % label_every == 0
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "label_y": TOP + plot_h + 16,
        "mid_y": TOP + plot_h / 2,
        "top_volume": top_volume,
        "bars": bars,
        "points": points,
        "line": " ".join(f"{p['x']},{p['y']}" for p in points),
    }


def breakdown_chart(groups, limit=15):
    """Horizontal bars: % contacted within deadline per group, the count beside it."""
    row_h = 22
    label_w = 220
    bar_w = WIDTH - label_w - 120
    rows = []
    for i, g in enumerate(groups[:limit]):
        pct = g.on_time_percent
        rows.append(
            {
                "y": TOP + i * row_h,
                "text_y": TOP + i * row_h + 14,
                "label": g.label[:32],
                "width": round(bar_w * (pct or 0) / 100, 1),
                "pct": pct,
                "assessable": g.assessable,
                "href": g.links.get("on_time", ""),
                "value_x": round(label_w + bar_w * (pct or 0) / 100 + 6, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": TOP + max(len(rows), 1) * row_h + 8,
        "label_w": label_w,
        "label_x": label_w - 6,
        "bar_w": bar_w,
        "rows": rows,
        "hidden": max(len(groups) - limit, 0),
    }
