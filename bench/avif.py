"""AVIF against WebP at avatar sizes, at equal quality (PSNR against the same square).

    .venv/bin/python bench/avif.py [--photos 8] [--speed 6]

For each variant size, each photo's square is encoded as the pipeline encodes its WebP
(web/services/imaging/encode.py: quality 80, method 2); then AVIF at the lowest quality whose
PSNR is at least the WebP's (a bisection over Pillow's AVIF quality). Prints per size the median
bytes of each, their ratio (AVIF / WebP: under 1.0 is AVIF smaller) and the median encode time
of the AVIF. Issue 25: adopt AVIF only at the sizes where it is smaller.
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from pipeline import phone_photo  # noqa: E402

from web.services.imaging.encode import encode  # noqa: E402
from web.services.imaging.types import VARIANT_PX  # noqa: E402


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = statistics.mean(
        v**2 + s for v, s in zip(ImageStat.Stat(diff).mean, ImageStat.Stat(diff).var, strict=True)
    )
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def avif(im: Image.Image, quality: int, speed: int) -> tuple[bytes, float]:
    out = io.BytesIO()
    start = time.perf_counter()
    im.save(out, "AVIF", quality=quality, speed=speed)
    return out.getvalue(), (time.perf_counter() - start) * 1000


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def matching_avif(im: Image.Image, target: float, speed: int) -> tuple[bytes, float]:
    """The smallest AVIF (lowest quality) at least as close to `im` as `target` dB."""
    low, high = 0, 100
    best = avif(im, high, speed)
    while low < high:
        middle = (low + high) // 2
        data, ms = avif(im, middle, speed)
        if psnr(im, decoded(data)) >= target:
            best, high = (data, ms), middle
        else:
            low = middle + 1
    return best


def squares(photos: int) -> list[Image.Image]:
    made = []
    for seed in range(photos):
        im = Image.open(io.BytesIO(phone_photo(seed, (1200, 900)))).convert("RGB")
        made.append(im.crop((150, 0, 1050, 900)))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--speed", type=int, default=6, help="libavif speed, 0 (slow) to 10")
    args = parser.parse_args()
    sources = squares(args.photos)
    print(f"{args.photos} photos; AVIF speed {args.speed}; bytes are medians")
    print(f"{'px':>5} {'WebP':>8} {'AVIF':>8} {'AVIF/WebP':>10} {'dB':>6} {'AVIF ms':>8}")
    for px in VARIANT_PX:
        webp, avifs, ms, db = [], [], [], []
        for source in sources:
            square = source.resize((px, px), Image.Resampling.LANCZOS)
            data = encode(square, "webp")
            target = psnr(square, decoded(data))
            found, took = matching_avif(square, target, args.speed)
            webp.append(len(data))
            avifs.append(len(found))
            ms.append(took)
            db.append(target)
        ratio = statistics.median(a / w for a, w in zip(avifs, webp, strict=True))
        print(
            f"{px:>5} {statistics.median(webp):>8.0f} {statistics.median(avifs):>8.0f} "
            f"{ratio:>10.2f} {statistics.median(db):>6.1f} {statistics.median(ms):>8.1f}"
        )


if __name__ == "__main__":
    main()
