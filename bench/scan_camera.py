"""A phone camera photographing a printed code, simulated with Pillow alone (for
bench/scan_robustness.py).

One photograph: the printed card (a crop of the PDF rendered at ``source_ppm`` pixels per mm) is
turned in space by up to ±10° about each axis and seen in perspective from 30 cm; the lens
blurs it (Gaussian, σ in camera pixels); the sensor samples it at ``ppm`` pixels per mm of card
(each pixel the mean of the light falling on it: the image is drawn ``k`` times finer and
reduced by ``k``); the light is uneven and of low contrast (ink and paper greys, a bilinear
shading across the frame); the sensor adds noise; the phone compresses the frame as JPEG.
Every random choice comes from the ``random.Random`` passed in, so a seed repeats a run.
"""

import io
import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from PIL import Image, ImageChops, ImageFilter

TILT_DEGREES = 10  # the most the card is turned about each axis, either way
DISTANCE_MM = 300  # from the lens: sets how strong the perspective is at a given tilt


@dataclass(frozen=True)
class Light:
    """How a kind of light shows a printed code to the camera (grey levels 0–255)."""

    name: str
    ink: tuple[float, float]  # grey of the printed black, drawn from this range
    paper: tuple[float, float]  # grey of the white paper
    shading: tuple[float, float]  # share of the light lost towards a corner (uneven light)
    noise: float  # σ of the sensor noise
    jpeg: tuple[int, int]  # JPEG quality
    blur: tuple[float, float]  # σ (camera px) of focus and shake when not swept


TYPICAL = Light("typical", ink=(30, 60), paper=(185, 225), shading=(0.0, 0.25), noise=5,
                jpeg=(60, 90), blur=(0.4, 0.9))
# A stairwell: the camera's exposure cannot bring the paper up to white, the ink is grey,
# the sensor's gain makes noise, and the phone compresses harder.
DIM = Light("dim", ink=(45, 70), paper=(130, 165), shading=(0.1, 0.35), noise=8,
            jpeg=(50, 80), blur=(0.5, 1.0))
LIGHTS = {light.name: light for light in (TYPICAL, DIM)}


def noise_bank(light: Light, size: int, seed: str, tiles: int = 6) -> list[Image.Image]:
    """Tiles of Gaussian noise (σ of the light, centred on grey 128) to add to photographs;
    made once per run from the seed, as Pillow's own noise cannot be seeded. Each pixel is a
    seeded random byte mapped through the normal distribution's quantiles."""
    rng = random.Random(f"{seed}:noise:{light.name}")
    normal = NormalDist(128, light.noise)
    quantiles = [min(255, max(0, round(normal.inv_cdf((i + 0.5) / 256)))) for i in range(256)]
    return [Image.frombytes("L", (size, size), rng.randbytes(size * size)).point(quantiles)
            for _ in range(tiles)]


def photograph(source: Image.Image, source_ppm: float, ppm: float, blur: float, light: Light,
               rng: random.Random, noise: list[Image.Image]) -> Image.Image:
    """The code in ``source`` (centred, greyscale) as a phone camera would see it."""
    k = max(2, math.floor(source_ppm / ppm))  # samples per camera pixel, each way
    half_w, half_h = source.width / source_ppm / 2, source.height / source_ppm / 2  # mm
    turn = _rotation(*(math.radians(rng.uniform(-TILT_DEGREES, TILT_DEGREES))
                       for _ in range(3)))
    corners_mm = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
    seen = [_project(turn, x, y, ppm) for x, y in corners_mm]  # camera px, around (0, 0)
    left, top = min(u for u, _ in seen), min(v for _, v in seen)
    shift_u, shift_v = rng.random(), rng.random()  # where the pixel grid falls on the card
    width = math.ceil(max(u for u, _ in seen) - left + 2 + shift_u)
    height = math.ceil(max(v for _, v in seen) - top + 2 + shift_v)
    out = [((u - left + 1 + shift_u) * k, (v - top + 1 + shift_v) * k) for u, v in seen]
    src = [((x + half_w) * source_ppm, (y + half_h) * source_ppm) for x, y in corners_mm]
    image = source.transform((width * k, height * k), Image.Transform.PERSPECTIVE,
                             _perspective_coefficients(out, src), Image.Resampling.BILINEAR,
                             fillcolor=255)
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur * k))
    image = image.reduce(k)
    ink, paper = rng.uniform(*light.ink), rng.uniform(*light.paper)
    image = image.point([round(ink + (paper - ink) * v / 255) for v in range(256)])
    shade = Image.frombytes("L", (2, 2), bytes(
        round(255 * (1 - rng.uniform(*light.shading))) for _ in range(4)))
    image = ImageChops.multiply(image, shade.resize(image.size, Image.Resampling.BILINEAR))
    tile = noise[rng.randrange(len(noise))]
    x0 = rng.randrange(tile.width - image.width + 1)
    y0 = rng.randrange(tile.height - image.height + 1)
    grain = tile.crop((x0, y0, x0 + image.width, y0 + image.height))
    image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=rng.randint(*light.jpeg))
    buf.seek(0)
    return Image.open(buf)


def _rotation(about_x: float, about_y: float, about_z: float) -> list[list[float]]:
    """The 3×3 matrix turning the card about its own x, then y, then the camera's axis."""
    cx, sx, cy, sy = math.cos(about_x), math.sin(about_x), math.cos(about_y), math.sin(about_y)
    cz, sz = math.cos(about_z), math.sin(about_z)
    rx = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]]
    ry = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]
    rz = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]
    return _matmul(rz, _matmul(ry, rx))


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][n] * b[n][j] for n in range(3)) for j in range(3)] for i in range(3)]


def _project(turn: list[list[float]], x: float, y: float, ppm: float) -> tuple[float, float]:
    """Where the card's point (x, y) mm from the code's centre lands, in camera pixels; the
    centre is seen at ``ppm`` pixels per mm."""
    px, py, pz = (turn[i][0] * x + turn[i][1] * y for i in range(3))
    scale = ppm * DISTANCE_MM / (DISTANCE_MM + pz)
    return px * scale, py * scale


def _perspective_coefficients(out: list[tuple[float, float]],
                              src: list[tuple[float, float]]) -> list[float]:
    """Pillow's 8 PERSPECTIVE coefficients mapping the 4 output points to the 4 source points
    (x = (a u + b v + c) / (g u + h v + 1), y likewise with d e f), by Gaussian elimination."""
    rows = []
    for (u, v), (x, y) in zip(out, src, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -u * x, -v * x, x])
        rows.append([0, 0, 0, u, v, 1, -u * y, -v * y, y])
    for col in range(8):
        pivot = max(range(col, 8), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(8):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][8] / rows[i][i] for i in range(8)]
