"""EXPERIMENT (issue 26; not used by uploads): MediaPipe's BlazeFace face detector run by
OpenCV's DNN, measured against the Haar search of web/services/imaging/faces.py by
bench/face_detectors.py (docs/performance.md "BlazeFace (experiment)", which also says what a
switch would change in faces.py).

The models are not in the tree (1.6 MB each): make them into a folder, BLAZEFACE_MODELS
(default var/blazeface), from the mediapipe 0.10.21 wheel (`pip download mediapipe==0.10.21
--no-deps`, the wheel web/services/imaging/models/SOURCE.md names):

    W=mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl; D=var/blazeface; mkdir -p $D
    unzip -p $W mediapipe/modules/face_detection/face_detection_short_range.tflite \
        > $D/face_detection_short_range.tflite
    for size in 192x192 256x192 192x256 288x224 224x288; do
        python bench/blazeface_model.py $W $D/face_detection_full_range_$size.tflite $size; done
    mv $D/face_detection_full_range_192x192.tflite $D/face_detection_full_range.tflite

Two models: full range (192x192 input, one 48x48 grid of anchors, for small and far faces) and
short range (128x128, 896 anchors, faces near the camera). OpenCV cannot run the wheel's
full-range model as it is (DENSIFY and DEPTH_TO_SPACE are not among its TFLite operators):
bench/blazeface_model.py writes its sparse weights out dense and ends the graph before the last
DEPTH_TO_SPACE, which _depth_to_space does here.

The frame is letterboxed whole into the input (or, for `tiles` > 1, into that many overlapping
pieces along its long edge, each the whole short edge across, each letterboxed), RGB in [-1, 1]
as MediaPipe feeds it. Outputs are decoded as MediaPipe's SsdAnchorsCalculator and
TensorsToDetectionsCalculator options for these graphs say (fixed-size anchors, offsets divided
by the input side, sigmoid scores), then an ordinary non-maximum suppression.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Model:
    file: str
    size: tuple[int, int]  # the input, width and height
    strides: tuple[int, ...]  # one per SSD layer (face_detection_*.pbtxt)
    per_layer: int  # anchors per cell per layer (1; 2 with the interpolated aspect ratio)
    min_score: float  # MediaPipe's min_score_thresh for the graph


FULL = Model("face_detection_full_range.tflite", (192, 192), (4,), 1, 0.6)
SHORT = Model("face_detection_short_range.tflite", (128, 128), (8, 16, 16, 16), 2, 0.5)
# The full-range model with larger inputs (bench/blazeface_model.py WIDTHxHEIGHT), landscape
# and portrait: a face of a sixteenth of the long edge is 16 or 18 px there rather than 12, in
# one pass.
FULL_WIDE = Model("face_detection_full_range_256x192.tflite", (256, 192), (4,), 1, 0.6)
FULL_TALL = Model("face_detection_full_range_192x256.tflite", (192, 256), (4,), 1, 0.6)
FULL_WIDER = Model("face_detection_full_range_288x224.tflite", (288, 224), (4,), 1, 0.6)
FULL_TALLER = Model("face_detection_full_range_224x288.tflite", (224, 288), (4,), 1, 0.6)
_TILE_OVERLAP = 0.2
_OVERLAP = 0.3  # NMS: boxes overlapping more than this (IoU) are one face
_local = threading.local()  # an OpenCV Net is not to be shared between threads

Box = tuple[float, float, float, float, float]  # left, top, width, height (frame px), score


def detect(frame: Image.Image, model: Model = FULL, tiles: int = 1) -> list[Box]:
    """The faces in the RGB frame, best first."""
    # The frame is cut down once, by the whole factor each piece would be (a box filter): the
    # pieces are then cut from the small copy, each scaled the rest of the way on its own.
    pieces = _pieces(frame.size, tiles)
    _x, _y, width, height = pieces[0]
    factor = max(1, width // model.size[0], height // model.size[1])
    rgb = frame.convert("RGB")
    small = rgb.reduce(factor) if factor > 1 else rgb
    sx, sy = frame.width / small.width, frame.height / small.height
    boxes: list[Box] = []
    for x0, y0, w0, h0 in pieces:
        cut = (round(x0 / sx), round(y0 / sy), round((x0 + w0) / sx), round((y0 + h0) / sy))
        piece = small.crop(cut) if cut != (0, 0, *small.size) else small
        for x, y, w, h, s in _detect_square(piece, model):
            boxes.append(((x + cut[0]) * sx, (y + cut[1]) * sy, w * sx, h * sy, s))
    return _suppressed(boxes)


def largest_face(
    frame: Image.Image, model: Model = FULL, tiles: int = 1
) -> tuple[float, float, float] | None:
    """Left, top and side of the largest face, as faces.largest_face answers; None without."""
    found = detect(frame, model, tiles)
    if not found:
        return None
    x, y, w, h, _score = max(found, key=lambda box: box[2] * box[3])
    return x, y, max(w, h)


def _pieces(size: tuple[int, int], tiles: int) -> list[tuple[int, int, int, int]]:
    """Left, top, width, height of the whole frame, or of `tiles` pieces along its long edge,
    each the whole short edge across and at least as long (a 4:3 frame in two squares),
    overlapping enough that a face is whole in one."""
    width, height = size
    if tiles <= 1:
        return [(0, 0, width, height)]
    long, short = max(width, height), min(width, height)
    span = max(short, round(long / (tiles - (tiles - 1) * _TILE_OVERLAP)))
    starts = [round(i * (long - span) / (tiles - 1)) for i in range(tiles)]
    if width >= height:
        return [(s, 0, span, height) for s in starts]
    return [(0, s, width, span) for s in starts]


def _detect_square(rgb: Image.Image, model: Model) -> list[Box]:
    width, height = rgb.size
    (in_w, in_h) = model.size
    scale = min(in_w / width, in_h / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(rgb.resize(size, Image.Resampling.BILINEAR))
    square = np.zeros((in_h, in_w, 3), np.float32)
    pad_x, pad_y = (in_w - size[0]) // 2, (in_h - size[1]) // 2
    square[pad_y : pad_y + size[1], pad_x : pad_x + size[0]] = small / 127.5 - 1.0
    net = _net(model)
    net.setInput(np.ascontiguousarray(square.transpose(2, 0, 1)[None]))
    raw_boxes, raw_scores = _outputs(net)
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -100.0, 100.0)))
    keep = np.flatnonzero(scores >= model.min_score)
    # Offsets are in input pixels: MediaPipe divides them by the input side (x_scale) and
    # adds anchors given as fractions of it.
    anchors = _anchors(model)[keep]
    cx, cy = raw_boxes[keep, 0] + anchors[:, 0], raw_boxes[keep, 1] + anchors[:, 1]
    w, h = raw_boxes[keep, 2], raw_boxes[keep, 3]
    return [
        ((x - bw / 2 - pad_x) / scale, (y - bh / 2 - pad_y) / scale, bw / scale, bh / scale, s)
        for x, y, bw, bh, s in zip(*(v.tolist() for v in (cx, cy, w, h, scores[keep])), strict=True)
    ]


def _outputs(net: cv2.dnn.Net) -> tuple[np.ndarray, np.ndarray]:
    """Box offsets (anchors x 16) and raw scores (anchors), in anchor order."""
    names = net.getUnconnectedOutLayersNames()
    outs = dict(zip(names, net.forward(names), strict=True))
    if "regressors" in outs:  # the short-range model, as the wheel has it
        return outs["regressors"].reshape(-1, 16), outs["classificators"].reshape(-1)
    # The cut graph's two maps (NCHW, an eighth of the input): 64 = 4 (2x2 block) x 16 regressor
    # values, 4 = 4 x 1 score.
    maps = sorted(outs.values(), key=lambda m: m.shape[1])
    return _depth_to_space(maps[1]).reshape(-1, 16), _depth_to_space(maps[0]).reshape(-1)


def _depth_to_space(nchw: np.ndarray, block: int = 2) -> np.ndarray:
    """TFLite's DEPTH_TO_SPACE on an NCHW map, answered NHWC (row-major anchors)."""
    _, c, h, w = nchw.shape
    depth = c // (block * block)
    nhwc = nchw[0].transpose(1, 2, 0).reshape(h, w, block, block, depth)
    spread: np.ndarray = nhwc.transpose(0, 2, 1, 3, 4).reshape(h * block, w * block, depth)
    return spread


def _anchors(model: Model) -> np.ndarray:
    """Anchor centres (x, y) in input pixels, in the order of the model's outputs: layers of the
    same stride share one grid, each cell holding all their anchors."""
    cached: np.ndarray | None = getattr(_local, f"anchors_{model.file}", None)
    if cached is not None:
        return cached
    rows = []
    for stride in dict.fromkeys(model.strides):  # in order, once each
        count = model.strides.count(stride) * model.per_layer
        ys, xs = np.mgrid[0 : -(-model.size[1] // stride), 0 : -(-model.size[0] // stride)]
        centres = np.stack([xs + 0.5, ys + 0.5], axis=-1).reshape(-1, 2) * stride
        rows.append(np.repeat(centres, count, axis=0))
    anchors = np.concatenate(rows).astype(np.float32)
    setattr(_local, f"anchors_{model.file}", anchors)
    return anchors


def _suppressed(boxes: list[Box]) -> list[Box]:
    if not boxes:
        return []
    rects = [[b[0], b[1], b[2], b[3]] for b in boxes]
    kept = cv2.dnn.NMSBoxes(rects, [b[4] for b in boxes], 0.0, _OVERLAP)
    return sorted((boxes[i] for i in np.asarray(kept).reshape(-1)), key=lambda b: -b[4])


def _net(model: Model) -> cv2.dnn.Net:
    net: cv2.dnn.Net | None = getattr(_local, model.file, None)
    if net is None:
        cv2.setNumThreads(1)  # as faces.py: one thread per detection
        net = cv2.dnn.readNetFromTFLite(_model_bytes(model.file))
        setattr(_local, model.file, net)
    return net


def _model_bytes(name: str) -> np.ndarray:
    """A model made as the module's docstring says, from the folder BLAZEFACE_MODELS."""
    folder = Path(os.environ.get("BLAZEFACE_MODELS", "var/blazeface"))
    return np.frombuffer((folder / name).read_bytes(), np.uint8)
