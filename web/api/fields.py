"""Field types of the API's bodies that stand on their own: the id pattern, and the edits of an
upload (docs/editing.md) with the labels a version records of them."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta


def digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 1..limit, without leading zeros."""
    text = str(limit)
    options = [f"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            options.append(f"{text[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}")
    return "^(?:" + "|".join([*options, text]) + ")$"


# The optional edits of an upload; a bad value is a 422 that names the field.
EnhanceField = Annotated[
    str,
    Meta(
        description="`on` or `true`: enhance the picture; empty or absent: as it is.",
        examples=["on"],
    ),
]
BackgroundField = Annotated[
    str, Meta(description="`keep` (the default), `blur` or `color`.", examples=["blur"])
]
BackgroundColorField = Annotated[
    str,
    Meta(description="With `background=color`: the colour, `#rrggbb`.", examples=["#1a6b9c"]),
]
EditLabels = Annotated[
    list[str],
    Meta(
        description="What was applied to this version's variants, in order: `enhance`, "
        "`background:blur`, `background:color:#rrggbb`; empty for none (the original is "
        "never edited).",
        examples=[["enhance", "background:blur"]],
    ),
]
