"""The default crop: a square on the most prominent face, found by OpenCV's bundled cascade.

The frontal-face Haar cascade (`alt2`: as accurate as `default` here, and faster) ships inside
`opencv-python-headless` (`cv2.data`): nothing is downloaded. It runs on the decoded frame (the
JPEG draft scale) cut down by a whole factor to at most DETECT_SIDE pixels on its long edge, in
grey, on the calling thread: a few milliseconds (bench/pipeline.py). The largest face wins; the
square is FACE_MARGIN times its side (hair above, chin and neck below), nudged up a little,
never smaller than MIN_SIZE of the picture's short side, and kept inside the picture.
"""

from __future__ import annotations

import threading
from importlib.resources import files

import cv2
import numpy as np
from PIL import Image

from web.services.imaging.types import Crop

_CASCADE = "haarcascade_frontalface_alt2.xml"
# 200: a phone photo's 1008 px draft frame is searched at 168 px (a sixth), where the
# smallest face looked for (_MIN_FACE) is the cascade's own 20 px window; at 252 px (320) the
# search took twice as long (13.7 -> 6.4 ms) and found the same faces (bench/pipeline.py).
DETECT_SIDE = 200
FACE_MARGIN = 2.6
MIN_SIZE = 0.5
# A face box runs from the brows to the chin: the hair above takes more room than the neck.
_LIFT = 0.12
# Faces under a tenth of the long edge are not looked for: they make no portrait, and the
# smallest windows are most of the cascade's cost.
_MIN_FACE = 0.1
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
    """Left, top and side (in frame pixels) of the largest face found, or None."""
    factor = -(-max(frame.size) // DETECT_SIDE)  # a whole factor: reduce() is 4x a resize
    small = (frame.reduce(factor) if factor > 1 else frame).convert("L")
    smallest = max(20, round(_MIN_FACE * max(small.size)))
    found = _cascade().detectMultiScale(
        np.asarray(small), scaleFactor=1.15, minNeighbors=3, minSize=(smallest, smallest)
    )
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda box: int(box[2]) * int(box[3]))
    sx, sy = frame.width / small.width, frame.height / small.height
    return float(x * sx), float(y * sy), float(max(w, h) * sx)


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
