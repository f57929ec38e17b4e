"""How long process() takes on a phone photo, next to a bare draft-mode decode of the same bytes.

    .venv/bin/python bench/pipeline.py [--runs N]

The photo is made here, deterministically: 4032x3024 (12 MP), gradients, shapes and sensor-like
noise, JPEG quality 90, about 3-5 MB like a phone's. DESIGN.md's target: process() within about
1.6x of the bare decode. The two are timed alternately so that a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web.services.imaging import process  # noqa: E402

SIZE = (4032, 3024)


def phone_photo(seed: int = 12) -> bytes:
    """Smooth light, hard-edged objects and fine noise: what makes a photo cost to decode."""
    width, height = SIZE
    light = Image.radial_gradient("L").resize(SIZE)
    sky = Image.linear_gradient("L").resize(SIZE)
    channels = [light, sky, ImageChops.invert(sky)]
    im = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(im)
    rng = random.Random(seed)
    for _ in range(160):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(40, 900), rng.randrange(40, 900)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x, y, x + w, y + h), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(SIZE, 14).convert("RGB")
    im = ImageChops.add(im, noise, scale=1.0, offset=-128)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def draft_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (384, 384))
        im.load()


def timed(fn: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    fn(data)
    return (time.perf_counter() - start) * 1000


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"{label:28} median {statistics.median(times):7.1f} ms   p90 {p90:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    data = phone_photo()
    processed = process(data)  # warm up: plugins, codecs, caches
    draft_decode(data)
    decode_ms, process_ms = [], []
    for _ in range(runs):
        decode_ms.append(timed(draft_decode, data))
        process_ms.append(timed(process, data))
    print(f"photo: {SIZE[0]}x{SIZE[1]} JPEG q90, {len(data) / 2**20:.2f} MiB; {runs} runs each")
    variant_kib = sum(len(v.data) for v in processed.variants) / 1024
    master = processed.master
    print(
        f"outputs: {len(processed.variants)} variants, {variant_kib:.0f} KiB; "
        f"master {master.width}x{master.height} {len(master.data) / 1024:.0f} KiB"
    )
    print(summary("bare draft decode (384)", decode_ms))
    print(summary("process() all variants", process_ms))
    ratio = statistics.median(process_ms) / statistics.median(decode_ms)
    print(f"ratio (median process / median decode): {ratio:.2f}x   (target ~1.6x)")


if __name__ == "__main__":
    main()
