"""The edits a member may ask of an upload or a re-crop, read from the form fields `enhance`,
`background` and `backgroundColor` (names that are contracts: docs/editing.md), and the labels
a version keeps of them (`"enhance"`, `"background:blur"`, `"background:color:#rrggbb"`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from web.services.imaging.types import rejected

BACKGROUNDS = ("keep", "blur", "color")
_ON = ("on", "true")
_OFF = ("", "off", "false")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_COLOUR_LABEL = "background:color:"


@dataclass(frozen=True, slots=True)
class Edits:
    """Enhance on or off; the background kept, blurred, or replaced by `color` (#rrggbb)."""

    enhance: bool = False
    background: str = "keep"
    color: str = ""

    @property
    def any(self) -> bool:
        return self.enhance or self.background != "keep"

    def labels(self) -> tuple[str, ...]:
        """What the version records, in the order the edits are applied."""
        out: tuple[str, ...] = ("enhance",) if self.enhance else ()
        if self.background == "blur":
            out += ("background:blur",)
        elif self.background == "color":
            out += (f"{_COLOUR_LABEL}{self.color}",)
        return out

    def rgb(self) -> tuple[int, int, int]:
        value = int(self.color[1:], 16)
        return value >> 16, (value >> 8) & 0xFF, value & 0xFF


NO_EDITS = Edits()


def edits_from(enhance: str, background: str, color: str) -> Edits:
    """The edits as typed in the form or the multipart body; a bad value is refused by name."""
    switch = enhance.strip().lower()
    if switch not in _ON + _OFF:
        raise rejected("bad_enhance")
    how = background.strip().lower() or "keep"
    if how not in BACKGROUNDS:
        raise rejected("bad_background")
    colour = color.strip().lower()
    if how == "color" and not _COLOUR.fullmatch(colour):
        raise rejected("bad_background_color")
    if how != "color" and colour and not _COLOUR.fullmatch(colour):
        raise rejected("bad_background_color")
    return Edits(switch in _ON, how, colour if how == "color" else "")


def edits_of(labels: Sequence[str]) -> Edits:
    """The edits a version's labels record (`Edits.labels` read back)."""
    colours = [
        label.removeprefix(_COLOUR_LABEL) for label in labels if label.startswith(_COLOUR_LABEL)
    ]
    if colours:
        return Edits("enhance" in labels, "color", colours[0])
    return Edits("enhance" in labels, "blur" if "background:blur" in labels else "keep")


def describe(label: str) -> str:
    """A recorded label as the history page says it."""
    if label == "enhance":
        return "enhanced"
    if label == "background:blur":
        return "background blurred"
    if label.startswith(_COLOUR_LABEL):
        return f"background colour {label.removeprefix(_COLOUR_LABEL)}"
    return label
