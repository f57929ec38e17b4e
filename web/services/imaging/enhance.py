"""Enhance: one switch for exposure, white balance, local contrast and gentle denoise.

Each step measures the picture first and does nothing inside its dead zone, so that a
well-exposed, balanced photo comes out nearly as it went in (docs/editing.md):
- white balance: grey world, measured on the pixels that are not skin (a face filling the frame
  would otherwise be read as an orange cast and turned blue), each channel's gain clamped;
- exposure: a gamma curve on L (LAB) that brings a dim or washed-out picture's mean toward mid
  grey;
- local contrast: CLAHE on L, blended in only as far as the picture is flat;
- denoise (first): a bilateral filter, only when the measured noise is high (small or dark
  sources).
Works on 8-bit RGB; runs on the edit square (a few hundred pixels a side), not the master.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

# Grey-world: a channel whose mean is within this fraction of the grey is left alone; past it,
# the excess is corrected, each gain within _GAIN.
_WB_DEAD = 0.06
_GAIN = (0.75, 1.35)
# Skin in YCrCb (the usual Chai and Ngan ranges): left out of the grey-world means.
_SKIN_CR, _SKIN_CB = (133, 173), (77, 127)
# The percentage of the least saturated pixels (skin left out) that grey world is measured on.
_NEUTRAL_SHARE = 30
# OpenCV's 8-bit L runs 0-255. A picture is left as it is when its mean L is inside _L_OK, or
# when its highlights (the 98th percentile) already reach _LIT: a portrait in dark clothes is
# dark on average, yet exposed right.
_L_OK = (100.0, 165.0)
_LIT = 215.0
_L_TARGET = 125.0
_GAMMA = (0.45, 1.6)
# The spread of L (standard deviation) under which CLAHE is blended in fully, and over which not.
_FLAT, _CONTRASTED = 30.0, 48.0
_CLAHE_CLIP, _CLAHE_TILES = 2.0, 8
# Noise (sigma estimated from the Laplacian) past which the bilateral filter runs.
_NOISY = 5.0


def enhance(im: Image.Image) -> Image.Image:
    """The picture with exposure, white balance, local contrast and noise corrected."""
    # Noise first: exposure and local contrast would otherwise amplify it.
    rgb = _white_balance(_denoised(np.asarray(im.convert("RGB"))))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    light = _exposed(lab[..., 0])
    light = _local_contrast(light)
    lab[..., 0] = light
    out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return Image.fromarray(out)


def _white_balance(rgb: np.ndarray) -> np.ndarray:
    means = _neutral_pixels(rgb).mean(axis=0) + 1.0
    deviation = means / means.mean() - 1.0
    excess = np.sign(deviation) * np.maximum(np.abs(deviation) - _WB_DEAD, 0.0)
    if not excess.any():
        return rgb
    gains = np.clip(1.0 / (1.0 + excess), *_GAIN)
    lut = np.clip(np.arange(256)[:, None] * gains[None, :], 0, 255).astype(np.uint8)
    return np.dstack([cv2.LUT(rgb[..., c], lut[:, c]) for c in range(3)])


def _neutral_pixels(rgb: np.ndarray) -> np.ndarray:
    """The pixels presumed grey: the least saturated share of those that are not skin. A blue
    sky or a red flag is then not read as a cast; a cast over the whole picture still is."""
    flat = rgb.reshape(-1, 3)
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).reshape(-1, 3)
    cr, cb = ycc[:, 1], ycc[:, 2]
    skin = (cr >= _SKIN_CR[0]) & (cr <= _SKIN_CR[1]) & (cb >= _SKIN_CB[0]) & (cb <= _SKIN_CB[1])
    if (~skin).sum() >= len(flat) // 10:
        flat = flat[~skin]
    wide = flat.astype(np.int16)
    saturation = (wide.max(axis=1) - wide.min(axis=1)) / (wide.max(axis=1) + 1.0)
    neutral: np.ndarray = flat[saturation <= np.percentile(saturation, _NEUTRAL_SHARE)]
    return neutral.astype(np.float64)


def _exposed(light: np.ndarray) -> np.ndarray:
    """A dim or washed-out L stretched to the full range (0.5th to 99.5th percentile), then
    a gamma that brings its mean to mid grey; an L exposed right comes back as it is."""
    mean = float(light.mean())
    low, high = (float(v) for v in np.percentile(light, (0.5, 99.5)))
    if _L_OK[0] <= mean <= _L_OK[1] or high - low < 8.0:
        return light
    if mean < _L_OK[0] and high >= _LIT:
        return light
    levels = np.clip((np.arange(256) - low) * 255.0 / (high - low), 0.0, 255.0)
    stretched_mean = float(levels[light].mean())
    gamma = 1.0
    if not _L_OK[0] <= stretched_mean <= _L_OK[1]:
        ratio = np.log(_L_TARGET / 255.0) / np.log(max(stretched_mean, 1.0) / 255.0)
        gamma = float(np.clip(ratio, *_GAMMA))
    lut = (255.0 * (levels / 255.0) ** gamma).round().astype(np.uint8)
    out: np.ndarray = cv2.LUT(light, lut)
    return out


def _local_contrast(light: np.ndarray) -> np.ndarray:
    spread = float(light.std())
    weight = float(np.clip((_CONTRASTED - spread) / (_CONTRASTED - _FLAT), 0.0, 1.0))
    if weight == 0.0:
        return light
    clahe = cv2.createCLAHE(clipLimit=_CLAHE_CLIP, tileGridSize=(_CLAHE_TILES, _CLAHE_TILES))
    return cv2.addWeighted(clahe.apply(light), weight, light, 1.0 - weight, 0.0)


def noise_sigma(rgb: np.ndarray) -> float:
    """Immerkaer's fast estimate of the noise's standard deviation, on grey."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = np.abs(cv2.filter2D(grey, -1, kernel))[1:-1, 1:-1]
    return float(response.mean() * np.sqrt(np.pi / 2) / 6.0)


def _denoised(rgb: np.ndarray) -> np.ndarray:
    sigma = noise_sigma(rgb)
    if sigma < _NOISY:
        return rgb
    return cv2.bilateralFilter(rgb, 5, sigmaColor=2.5 * sigma, sigmaSpace=3.0)
