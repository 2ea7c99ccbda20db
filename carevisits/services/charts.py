"""Small charts drawn by the server as SVG (no chart library, nothing from a CDN)."""

from datetime import datetime, timedelta, tzinfo

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 320, 160, 24
LOW, HIGH = 40, 200  # mmHg shown on the vertical axis
DATE_TICKS = 4  # dates under the time axis, first and last reading included


def _date_axis(start: datetime, span: float, x, zone: tzinfo) -> str:
    """Dates under the time axis: evenly spaced, each day once, ends aligned to the edges."""
    ticks, seen = [], set()
    for i in range(DATE_TICKS):
        at = start + timedelta(seconds=span * i / (DATE_TICKS - 1))
        day = at.astimezone(zone).date()
        if day not in seen:
            seen.add(day)
            ticks.append((x(at), f"{day.month}月{day.day}日"))
    anchors = ["start"] + ["middle"] * (len(ticks) - 2) + ["end"] if len(ticks) > 1 else \
        ["middle"]
    return "".join(
        f'<line class="guide" x1="{at:.1f}" x2="{at:.1f}" y1="{HEIGHT - PAD}" '
        f'y2="{HEIGHT - PAD + 4}"/><text class="date" x="{at:.1f}" y="{HEIGHT - 6}" '
        f'text-anchor="{anchor}">{label}</text>'
        for (at, label), anchor in zip(ticks, anchors, strict=True))


def bp_trend(readings: list[tuple[datetime, int, int]], label: str, zone: tzinfo) -> Markup:
    """Upper and lower blood pressure over time, oldest left, with the dates (in ``zone``)
    under the axis; ``readings`` oldest first."""
    if len(readings) < 2:
        return Markup("")
    span = (readings[-1][0] - readings[0][0]).total_seconds() or 1

    def x(at: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * (at - readings[0][0]).total_seconds() / span

    def y(value: int) -> float:
        value = min(max(value, LOW), HIGH)
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value - LOW) / (HIGH - LOW)

    def line(index: int, css: str) -> str:
        points = " ".join(f"{x(r[0]):.1f},{y(r[index]):.1f}" for r in readings)
        return f'<polyline class="{css}" fill="none" points="{points}"/>'

    guides = "".join(f'<line class="guide" x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}"/><text x="2" y="{y(v) + 4:.1f}">{v}</text>'
                     for v in (90, 140, 160))
    dates = _date_axis(readings[0][0], span, x, zone)
    # Everything in the SVG is a number or a date the code formats, and the label is escaped.
    return Markup(  # nosec B704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">{guides}{dates}{line(1, "upper")}{line(2, "lower")}</svg>')


TREND_WIDTH, TREND_HEIGHT = 360, 170


def share_trend(labels: list[str], series: list[tuple[str, list[float | None]]],
                title: str) -> Markup:
    """Shares (0–1) per period as lines on a 0–100% axis, one per series (CSS classes
    ``s0``, ``s1`` …), the period labels under the axis (first, middle, last); a period
    without a share leaves a gap. Its numbers belong in a table beside it."""
    if not labels:
        return Markup("")
    span = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return PAD + 8 + (TREND_WIDTH - 2 * PAD - 16) * i / span

    def y(share: float) -> float:
        return TREND_HEIGHT - PAD - (TREND_HEIGHT - 2 * PAD) * share

    guides = "".join(f'<line class="guide" x1="{PAD}" x2="{TREND_WIDTH - PAD}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}"/><text x="2" y="{y(v) + 4:.1f}">{int(v * 100)}%</text>'
                     for v in (0, 0.5, 1))
    ticks = sorted({0, span // 2, len(labels) - 1})
    dates = "".join(f'<text class="date" x="{x(i):.1f}" y="{TREND_HEIGHT - 6}" '
                    f'text-anchor="middle">{escape(labels[i])}</text>' for i in ticks)
    lines = []
    for n, (_name, shares) in enumerate(series):
        runs, run = [], []
        for i, share in enumerate(shares):
            if share is None:
                runs, run = runs + [run] if run else runs, []
            else:
                run.append(f"{x(i):.1f},{y(share):.1f}")
        runs += [run] if run else []
        lines += [f'<polyline class="s{n}" fill="none" points="{" ".join(r)}"/>' for r in runs]
        lines += [f'<circle class="s{n}" r="2" cx="{p.split(",")[0]}" cy="{p.split(",")[1]}"/>'
                  for r in runs for p in r]
    # Numbers and labels the code formats; the title and labels are escaped.
    return Markup(  # nosec B704
        f'<svg class="chart trend" viewBox="0 0 {TREND_WIDTH} {TREND_HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">{guides}{dates}{"".join(lines)}</svg>')
