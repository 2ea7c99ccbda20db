"""Small charts drawn by the server as SVG (no chart library, nothing from a CDN)."""

from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 320, 160, 24
LOW, HIGH = 40, 200  # mmHg shown on the vertical axis


def bp_trend(readings: list[tuple[datetime, int, int]], label: str) -> Markup:
    """Upper and lower blood pressure over time, oldest left; ``readings`` oldest first."""
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
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">{guides}{line(1, "upper")}{line(2, "lower")}</svg>')
