"""Draw the app's home-screen icons (issue 14 §5): a white door with a heart on it, on the
app's green (static/app.css ``--primary``).

    .venv/bin/python scripts/make_icons.py [--out static/icons]

Writes icon-192.png and icon-512.png (rounded square, transparent corners: ``purpose``
"any"), icon-maskable-512.png (full bleed, the door inside the central 80 % circle that every
launcher mask keeps) and apple-touch-icon.png (180 px, opaque: iOS rounds the corners itself
and shows transparency as black), and favicon.ico (16, 32 and 48 px in one file, served at
``/favicon.ico``: browsers ask for it on every site). Drawn at 4× and scaled down for smooth edges, then reduced
to a small palette and written optimised (a few KB each). The PNGs are committed; run this
again only to change the drawing.
"""

import argparse
import math
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
GREEN = (11, 110, 79, 255)  # --primary
WHITE = (255, 255, 255, 255)
RED = (179, 38, 30, 255)  # --late: the warm red of the app
KNOB = (95, 102, 112, 255)  # --muted
SUPERSAMPLE = 4
COLOURS = 48  # palette size: enough for the anti-aliased edges of four colours

# (file, size in px, rounded corners, share of the canvas the door's height takes)
ICONS = [
    ("icon-192.png", 192, True, 0.62),
    ("icon-512.png", 512, True, 0.62),
    ("icon-maskable-512.png", 512, False, 0.50),  # inside the 80 % safe circle
    ("apple-touch-icon.png", 180, False, 0.60),
]


def heart(cx: float, cy: float, size: float, steps: int = 120) -> list[tuple[float, float]]:
    """A heart as a polygon (the classic parametric curve), ``size`` wide, centred."""
    points = []
    for i in range(steps):
        t = 2 * math.pi * i / steps
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        points.append((cx + x * size / 34, cy - (y + 2.5) * size / 34))
    return points


def draw(size: int, rounded: bool, door_share: float) -> Image.Image:
    """One icon, ``size`` px square."""
    s = size * SUPERSAMPLE
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if rounded:
        pen.rounded_rectangle((0, 0, s - 1, s - 1), radius=round(s * 0.22), fill=GREEN)
    else:
        pen.rectangle((0, 0, s - 1, s - 1), fill=GREEN)
    # The door: taller than wide, an arched top, a knob; sitting a little below the middle.
    height = s * door_share
    width = height * 0.66
    left, top = (s - width) / 2, (s - height) / 2 + s * 0.01
    arch = width * 0.35  # height of the arched top
    pen.pieslice((left, top, left + width, top + 2 * arch), 180, 360, fill=WHITE)
    pen.rectangle((left, top + arch - 1, left + width, top + height), fill=WHITE)
    knob = width * 0.07
    kx, ky = left + width * 0.8, top + height * 0.62
    pen.ellipse((kx - knob, ky - knob, kx + knob, ky + knob), fill=KNOB)
    pen.polygon(heart(s / 2, top + height * 0.36, width * 0.62), fill=RED)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def save_small(image: Image.Image, path: Path, opaque: bool) -> None:
    """Write ``image`` as a palette PNG (transparency kept where there is any)."""
    if opaque:
        image = image.convert("RGB")
        small = image.quantize(COLOURS, method=Image.Quantize.MEDIANCUT)
    else:
        small = image.quantize(COLOURS, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)


FAVICON_SIZES = [(16, 16), (32, 32), (48, 48)]


def save_favicon(path: Path) -> None:
    """The same door, rounded, in the sizes a browser tab and a bookmark use."""
    draw(256, True, 0.62).save(path, format="ICO", sizes=FAVICON_SIZES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "static" / "icons")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, size, rounded, share in ICONS:
        path = args.out / name
        save_small(draw(size, rounded, share), path, opaque=not rounded)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{size}×{size}, {path.stat().st_size} bytes")
    favicon = args.out / "favicon.ico"
    save_favicon(favicon)
    print(f"{favicon.name}: {', '.join(f'{w}×{h}' for w, h in FAVICON_SIZES)}, "
          f"{favicon.stat().st_size} bytes")


if __name__ == "__main__":
    main()
