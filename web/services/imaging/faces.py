"""The default crop: a square on the most prominent face, found by OpenCV's bundled cascade.

The frontal-face Haar cascade (`alt2`: as accurate as `default` here, and faster) ships inside
`opencv-python-headless` (`cv2.data`): nothing is downloaded. It runs on the decoded frame (the
JPEG draft scale), in grey, in two passes (_PASSES; their cost and what they find:
bench/faces.py): faces of a tenth of the long edge and more, on the frame cut to SEARCH_SIDE / 2
pixels; only when none is there, the smaller ones down to SMALLEST_FACE, at SEARCH_SIDE. Each
pass's range of sizes is cut in two, one half on the calling thread and one on a thread of its
own (_detect). The largest face wins; the square is FACE_MARGIN times its side (hair above, chin
and neck below), nudged up a little, never smaller than MIN_SIZE of the picture's short side,
and kept inside the picture.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.resources import files

import cv2
import numpy as np
from PIL import Image

from web.services.imaging.types import Crop

_CASCADE = "haarcascade_frontalface_alt2.xml"
WINDOW = 20  # the cascade's own window (getOriginalWindowSize): the smallest face it sees
# Faces down to a sixteenth of the long edge are found (the panorama had one of 1/13).
# The search reaches a fifth further, to a twentieth: a face at the cascade's smallest window
# rarely gathers the neighbouring hits it needs to count. On bench/faces.py's grid of 343
# placements of a real face (1/16 to 1/7 of the long edge, 7 canvases from 1008x756 to
# 4032x3024 and 3:1 panoramas), 334 are found, 48 of the 49 at 1/16; searched at 320 px (where
# 1/16 is the window itself) 255 and 4; before (one pass at 200 px, from a tenth) 64 and 0.
SMALLEST_FACE = 1 / 16
SEARCH_SIDE = round(WINDOW / SMALLEST_FACE * 1.25)  # 400 px
# The two passes: how much the search picture is cut down, the cascade's scale step, the
# largest face looked for (pixels of the cut picture; 0: any), and the size where the pass is
# cut in two halves of about the same cost (OpenCV scans a scale of twice its window or more
# at every pixel, a smaller one at every other). The first finds faces of a tenth of the long
# edge and more, as the search always did (at 200 px, step 1.15): a portrait costs what it
# did. The second, only when the first finds none, looks at the smaller ones, up to one step
# past the first's smallest so that a face on the boundary keeps its hits in one pass, with a
# finer step: at 1.15 a small face gathers too few hits (319 of the 343, 37 at 1/16).
_PASSES = ((2, 1.15, 0, 2 * WINDOW), (1, 1.1, round(2 * WINDOW * 1.15), 28))
assert all(largest == 0 or split <= largest for *_, largest, split in _PASSES)
_NEIGHBOURS, _GROUP_EPS = 3, 0.2  # hits a face needs; detectMultiScale's own grouping
FACE_MARGIN = 2.6
MIN_SIZE = 0.5
# A face box runs from the brows to the chin: the hair above takes more room than the neck.
_LIFT = 0.12
_local = threading.local()  # a CascadeClassifier is not to be shared between threads


def face_crop(frame: Image.Image) -> Crop | None:
    """A square on the largest face in the upright frame, as fractions of it; None without one."""
    face = largest_face(frame)
    if face is None:
        return None
    x, y, side = face
    width, height = frame.size
    short = min(width, height)
    size = min(max(side * FACE_MARGIN, MIN_SIZE * short), short)
    cx, cy = x + side / 2, y + side / 2 - _LIFT * side
    left = min(max(cx - size / 2, 0.0), width - size)
    top = min(max(cy - size / 2, 0.0), height - size)
    return Crop(left / width, top / height, size / short)


def largest_face(frame: Image.Image) -> tuple[float, float, float] | None:
    """Left, top and side (in frame pixels) of the largest face found, or None.

    A face the first pass finds is larger than any the second would, so the second runs only
    when the first finds none: a portrait costs what the search at SEARCH_SIDE / 2 costs.
    """
    search = searched(frame)
    for cut, step, largest, split in _PASSES:
        grey = search.reduce(cut) if cut > 1 else search
        found = _detect(grey, step, largest, split)
        if found is not None:
            x, y, side = found
            sx, sy = frame.width / grey.width, frame.height / grey.height
            return x * sx, y * sy, side * sx
    return None


def searched(frame: Image.Image) -> Image.Image:
    """The frame in grey with its long edge at most SEARCH_SIDE: a whole-factor reduce()
    (4x faster than a resize), then a small bilinear step to the exact side."""
    factor = max(1, max(frame.size) // SEARCH_SIDE)
    small = (frame.reduce(factor) if factor > 1 else frame).convert("L")
    ratio = SEARCH_SIDE / max(small.size)
    if ratio >= 1:
        return small
    size = (max(1, round(small.width * ratio)), max(1, round(small.height * ratio)))
    return small.resize(size, Image.Resampling.BILINEAR)


def _detect(
    grey: Image.Image, step: float, largest: int, split: int
) -> tuple[int, int, int] | None:
    """The largest face from WINDOW up to `largest` pixels (0: any size) in grey.

    The sizes below `split` are looked for on this thread, the others on the faces thread at
    the same time (OpenCV lets go of the GIL): on an idle machine the faceless 12 MP photo's
    search takes 20.7 ms instead of 36.9, a portrait's 6.5 instead of 9.7, for 0.3-0.8 ms more
    CPU (docs/performance.md, Face search). Each half sees the scales one call would (powers of
    the step from the window; OpenCV keeps a window from min to max size, both included), and
    their raw hits are grouped as detectMultiScale groups its own: the same faces (352 frames:
    bench/faces.py's grid and cases, and faceless photos).
    """
    if min(grey.size) < WINDOW:
        return None
    pixels = np.asarray(grey)
    larger = _other_half().submit(_hits, pixels, step, split, largest)
    hits = [*_hits(pixels, step, WINDOW, split - 1), *larger.result()]
    if not hits:
        return None
    found, _ = cv2.groupRectangles(hits, _NEIGHBOURS, _GROUP_EPS)
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda box: int(box[2]) * int(box[3]))
    return int(x), int(y), max(int(w), int(h))


def _hits(pixels: np.ndarray, step: float, smallest: int, largest: int) -> list[list[int]]:
    """The cascade's raw hits (ungrouped) for faces from smallest to largest (0: any) pixels."""
    found = _cascade().detectMultiScale(
        pixels,
        scaleFactor=step,
        minNeighbors=0,  # no grouping: _detect groups both halves' hits together
        minSize=(smallest, smallest),
        maxSize=(largest, largest),  # OpenCV: (0, 0) is no bound
    )
    return [[int(v) for v in box] for box in found]


@cache
def _other_half() -> ThreadPoolExecutor:
    """The thread each search's second half runs on (made in the process that searches: the
    cage's workers warm up, and so make it, before their memory ceiling is set). One is enough:
    every search runs in a cage worker (uploads, imports, suggestions), one job at a time."""
    return ThreadPoolExecutor(1, thread_name_prefix="faces")


# A forked child has the executor but not its thread: it makes its own on first use.
os.register_at_fork(after_in_child=_other_half.cache_clear)


def _cascade() -> cv2.CascadeClassifier:
    cascade: cv2.CascadeClassifier | None = getattr(_local, "cascade", None)
    if cascade is None:
        # One thread per detection: uploads already run on many (and an import's pool on every
        # core); OpenCV's own pool would only make them wait for each other.
        cv2.setNumThreads(1)
        path = files("cv2") / "data" / _CASCADE  # cv2.data.haarcascades, which has no stub
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"OpenCV's face cascade is missing: {path}")
        _local.cascade = cascade
    return cascade
