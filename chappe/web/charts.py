"""Charts drawn on the server as inline SVG (no script, no CDN; decision 0042): bars of
one or more series over labelled buckets. Labels are escaped; numbers are formatted here."""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea")


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              title: str, width: int = 720, height: int = 220) -> SafeString:
    """Grouped bars: for each label, one bar per series (name, values)."""
    left, bottom, top = 40, 40, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max((v for _name, values in series for v in values), default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="14" font-size="12">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             f'stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">'
             f"{_number(peak)}</text>"]
    every = max(1, len(labels) // 16)  # at most ~16 axis labels
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for s, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + s * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}">'
                f"<title>{escape(label)} · {escape(name)}: {_number(value)}</title></rect>")
        if i % every == 0:
            parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{top + plot_h + 14}" '
                         f'font-size="10" text-anchor="middle">{escape(label)}</text>')
    for s, (name, _values) in enumerate(series):
        x = left + s * 140
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{COLOURS[s % len(COLOURS)]}"/><text x="{x + 14}" '
                     f'y="{height - 5}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
