"""Background: blurred, or replaced by a solid colour, behind the person.

The person is found by MediaPipe's Selfie Segmentation model (models/SOURCE.md: copied from the
mediapipe 0.10.21 wheel, Apache-2.0), run by OpenCV's DNN module on a 256x256 copy of the edit
square: about 30-60 ms here, on the calling thread, in the cage like every other decode. Its
probability mask is scaled back up and feathered, so that hair and shoulders blend rather
than cut out.
"""

from __future__ import annotations

import hashlib
import threading
from importlib.resources import files

import cv2
import numpy as np
from PIL import Image

_MODEL = "selfie_segmentation.tflite"
_SIDE = 256  # the model's input, square
# The mask is feathered at the model's size (its scaling up then smooths it further): about
# 1 % of the picture's side. The background blur is a sigma of 3 % of the side, made on a copy
# cut down to _BLUR_SIDE first and scaled back up: the same look for a fraction of the cost
# (a 30 px sigma on a 1 MP picture is a 180 px kernel).
_FEATHER = 1.5
_BLUR = 0.03
_BLUR_SIDE = 160
_local = threading.local()  # an OpenCV Net is not to be shared between threads


def person_mask(im: Image.Image) -> np.ndarray:
    """The probability (0-1, float32) that each pixel of the RGB picture shows the person."""
    small = np.asarray(im.convert("RGB").resize((_SIDE, _SIDE), Image.Resampling.BILINEAR))
    blob = np.ascontiguousarray(small.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
    net = _net()
    net.setInput(blob)
    mask = cv2.GaussianBlur(net.forward().reshape(_SIDE, _SIDE), (0, 0), _FEATHER)
    return np.clip(cv2.resize(mask, im.size, interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def blurred(im: Image.Image, mask: np.ndarray | None = None) -> Image.Image:
    """The person sharp on a blurred background."""
    rgb = np.asarray(im.convert("RGB"))
    scale = min(1.0, _BLUR_SIDE / max(im.size))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), _BLUR * max(im.size) * scale)
    behind = cv2.resize(small, im.size, interpolation=cv2.INTER_LINEAR)
    return _composite(rgb, behind, person_mask(im) if mask is None else mask)


def coloured(
    im: Image.Image, colour: tuple[int, int, int], mask: np.ndarray | None = None
) -> Image.Image:
    """The person on a solid colour."""
    rgb = np.asarray(im.convert("RGB"))
    behind = np.empty_like(rgb)
    behind[...] = colour
    return _composite(rgb, behind, person_mask(im) if mask is None else mask)


def _composite(front: np.ndarray, behind: np.ndarray, mask: np.ndarray) -> Image.Image:
    weights = np.ascontiguousarray(mask, dtype=np.float32)
    return Image.fromarray(cv2.blendLinear(front, behind, weights, 1.0 - weights))


def _net() -> cv2.dnn.Net:
    net: cv2.dnn.Net | None = getattr(_local, "net", None)
    if net is None:
        net = cv2.dnn.readNetFromTFLite(_model_bytes())
        _local.net = net
    return net


def _model_bytes() -> np.ndarray:
    """The vendored model, refused unless its SHA-256 is the one recorded beside it."""
    folder = files("web.services.imaging") / "models"
    data = (folder / _MODEL).read_bytes()
    expected = (folder / "SHA256SUMS").read_text(encoding="ascii").split()[0]
    if hashlib.sha256(data).hexdigest() != expected:
        raise RuntimeError(f"the segmentation model {_MODEL} does not match its SHA256SUMS")
    return np.frombuffer(data, dtype=np.uint8)
