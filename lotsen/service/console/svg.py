"""Reference-vs-current histograms drawn as inline SVG on the server (no chart library)."""

from html import escape
from itertools import pairwise

from pydantic import BaseModel

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 360, 150, 8, 30, 18
REFERENCE_COLOUR = "#8aa7c8"
CURRENT_COLOUR = "#d9822b"


class Histogram(BaseModel):
    """One feature's binned distribution in the reference and the current window."""

    feature: str
    labels: list[str]
    """One label per bin (a range, or a category)."""
    reference: list[float]
    current: list[float]
    drifted: bool = False
    """The incident names this feature."""
    model: str = ""


def shares(counts: list[float]) -> list[float]:
    """Counts as fractions of their total (all zero when there is nothing)."""
    total = sum(counts)
    return [c / total if total > 0 else 0.0 for c in counts]


def histogram_svg(h: Histogram) -> str:
    """Paired bars per bin: reference (blue) and current (orange), as shares of the window.

    Args:
        h: The histogram; reference and current are counts with one entry per label.

    Returns:
        A self-contained `<svg>` element with a title per bar (hover shows the share).
    """
    ref, cur = shares(h.reference), shares(h.current)
    bins = max(len(h.labels), 1)
    peak = max([*ref, *cur, 1e-9])
    slot = (WIDTH - 2 * LEFT) / bins
    bar = max(slot / 2 - 1, 1.0)
    plot = HEIGHT - BOTTOM - TOP
    name = escape(h.feature)
    title = escape(f"{h.model} · " if h.model else "") + name + (" (flagged)" if h.drifted else "")
    out = [
        f"<svg class='hist' viewBox='0 0 {WIDTH} {HEIGHT}' width='{WIDTH}' height='{HEIGHT}' "
        f"role='img' aria-label='{name}: reference vs current'>",
        f"<text x='{LEFT}' y='12' class='t'>{title}</text>",
    ]
    for i, label in enumerate(h.labels):
        x = LEFT + i * slot
        for j, (values, colour, what) in enumerate(
            ((ref, REFERENCE_COLOUR, "reference"), (cur, CURRENT_COLOUR, "current"))
        ):
            value = values[i] if i < len(values) else 0.0
            bar_h = value / peak * plot
            out.append(
                f"<rect x='{x + j * (bar + 1):.1f}' y='{TOP + plot - bar_h:.1f}' "
                f"width='{bar:.1f}' height='{bar_h:.1f}' fill='{colour}'>"
                f"<title>{escape(label)}: {what} {value:.1%}</title></rect>"
            )
    y = HEIGHT - BOTTOM + 12
    out.append(
        f"<line x1='{LEFT}' x2='{WIDTH - LEFT}' y1='{TOP + plot}' y2='{TOP + plot}' stroke='#999'/>"
    )
    if h.labels:
        out.append(f"<text x='{LEFT}' y='{y}' class='a'>{escape(h.labels[0])}</text>")
        out.append(
            f"<text x='{WIDTH - LEFT}' y='{y}' class='a' text-anchor='end'>"
            f"{escape(h.labels[-1])}</text>"
        )
    out.append(
        f"<rect x='{LEFT}' y='{y + 6}' width='10' height='8' fill='{REFERENCE_COLOUR}'/>"
        f"<text x='{LEFT + 14}' y='{y + 14}' class='a'>reference</text>"
        f"<rect x='{LEFT + 90}' y='{y + 6}' width='10' height='8' fill='{CURRENT_COLOUR}'/>"
        f"<text x='{LEFT + 104}' y='{y + 14}' class='a'>current</text></svg>"
    )
    return "".join(out)


def bin_labels(edges: list[float], categories: list[str], slots: int) -> list[str]:
    """One label per histogram slot of the binning layout (tools/telemetry/binning.py).

    Numeric: slot 0 is below the reference minimum, then one slot per pair of edges, the
    last slot above the maximum (slots between are unused: empty). Categorical: the
    reference's categories, then `other`.
    """
    if categories:
        labels = list(categories)[: slots - 1]
        return labels + ["other"] * (slots - len(labels))
    if len(edges) < 2:
        return ["all"] * slots
    ranges = [f"{_num(a)}..{_num(b)}" for a, b in pairwise(edges)]
    inner = ranges[: slots - 2]
    middle = inner + ["unused"] * (slots - 2 - len(inner))
    return [f"<{_num(edges[0])}", *middle, f">{_num(edges[-1])}"]


def trimmed(h: Histogram) -> Histogram:
    """The histogram without slots empty in both reference and current."""
    keep = [
        i
        for i in range(len(h.labels))
        if (h.reference[i] if i < len(h.reference) else 0) > 0
        or (h.current[i] if i < len(h.current) else 0) > 0
    ]
    return h.model_copy(
        update={
            "labels": [h.labels[i] for i in keep],
            "reference": [h.reference[i] if i < len(h.reference) else 0.0 for i in keep],
            "current": [h.current[i] if i < len(h.current) else 0.0 for i in keep],
        }
    )


def _num(value: float) -> str:
    return f"{value:.3g}"
