"""One API upload of a phone photo, end to end, beside the draft-decode floor and a tuned Pillow
reference; and twelve members uploading four at a time, beside that reference on two processes.

    .venv/bin/python bench/upload.py [--runs 15] [--rounds 3]

A real `ppsync serve` runs on a free port over a temporary VAR_DIR (SQLite), with twelve members
and an API token each. The photo is bench/pipeline.py's 12 MP phone JPEG with an EXIF block
(orientation 6, a GPS position) put in front. Timed alternately, in the same run:

  floor       a bare draft-mode decode of the same bytes (bench/pipeline.py's draft_decode)
  reference   a tuned single-threaded Pillow pipeline making the same files as ours: draft
              decode, EXIF transpose, centre square, the same sizes, formats and settings, a
              1024 px master; in this process, nothing written
  upload      POST /api/profile/upload-picture (HTTP, multipart, pipeline, every file written
              and fsynced, the transaction committed): the time to the answer

Beside them, for the arithmetic of what any upload must spend here (printed as a bound):

  transport   the same POST with a userId that is not a number: the server reads and parses the
              whole body, then answers 400 before the pipeline
  durable     the fifteen files of one upload written and fsynced by DiskStore (temporary files,
              renames, directory fsyncs), in this process

Beside the plain upload, in the same runs: the same POST with each option of the upload
(`enhance=on`, `background=blur`), with the server's CPU per upload; and the face search's cost,
process() of the photo as an upload runs it (no face in it: both passes) against process() with
the centre square given (no search), in this process.

And the same photo with a face, as most profile pictures have: Pillow's hopper face pasted
over a quarter of its long edge (the search's first pass finds it and stops), its own bare
decode beside it, and its upload; its least possible line is the faceless one's with its own
decode.

Then throughput: 12 uploads by 12 members, 4 in flight at a time, in uploads/s, beside the
reference's 12 photos on a pool of 2 processes (one per core). `per core` is uploads/s over the
cores used: the server's one process uses both cores.

The goals (issue 26) are read against the bounds printed: the upload within 1.15x of the least
possible upload, and the uploads/s per core at least 0.9x of the most possible per core.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from urllib.error import HTTPError

from PIL import Image, ImageChops

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import draft_decode, phone_photo  # noqa: E402
from reads import PASSWORD, Server, _multipart, bench_server, request  # noqa: E402
from upload_report import (  # noqa: E402
    FACE_ROWS,
    IN_FLIGHT,
    LATENCY_ROWS,
    MEMBERS,
    OPTIONS,
    REFERENCE_PROCESSES,
    SEARCH_ROWS,
    report,
)

from tests.e2e import under_attack  # noqa: E402
from web.services.imaging import centre_crop, process  # noqa: E402
from web.services.imaging.types import VARIANT_PX  # noqa: E402
from web.services.pictures.names import new_name  # noqa: E402
from web.services.pictures.storage import DiskStore, processed_files  # noqa: E402

# --- the photo -------------------------------------------------------------------------------


def exif_photo() -> bytes:
    """The phone photo with an APP1 EXIF block: turned (orientation 6) and geotagged."""
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)
    block = exif.tobytes()
    data = phone_photo()
    segment = b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block
    return data[:2] + segment + data[2:]


HOPPER = Path(__file__).resolve().parents[1] / "tests/fixtures/pillow_hopper.jpg"
HOPPER_FACE = 58 / 128  # the face's height in hopper.jpg (tests/unit/test_face_crop.py)


def with_a_face(photo: bytes) -> bytes:
    """The photo with the hopper face a quarter of its long edge tall, pasted on its side so
    that it stands upright once orientation 6 is applied, with the photo's grain; the same EXIF
    block and quality."""
    with Image.open(io.BytesIO(photo)) as im:
        exif = im.info["exif"]
        frame = im.convert("RGB")
    side = round(max(frame.size) / 4 / HOPPER_FACE)
    with Image.open(HOPPER) as hopper:
        face = hopper.convert("RGB").resize((side, side)).rotate(90)  # anticlockwise
    # the photo's own grain over it, so that it costs to decode what the rest of the photo does
    face = ImageChops.add(face, Image.effect_noise(face.size, 14).convert("RGB"), 1.0, -128)
    frame.paste(face, ((frame.width - side) // 2, (frame.height - side) // 2))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


# --- the tuned reference ---------------------------------------------------------------------


def reference(data: bytes) -> int:
    """Our outputs the plain way, on one thread: returns the bytes encoded."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (max(VARIANT_PX), max(VARIANT_PX)))
        im.load()
        turn = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270}
        method = turn.get(im.getexif().get(0x0112, 1))
        frame = im.transpose(method) if method else im.copy()
    frame.info = {}
    width, height = frame.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    out = 0
    master = frame
    if max(frame.size) > 1024:
        scale = 1024 / max(frame.size)
        master = frame.resize((round(width * scale), round(height * scale)), reducing_gap=3.0)
    out += _save(master, "JPEG", quality=90, progressive=False)
    current, box = frame, (left, top, left + side, top + side)
    for px in sorted(VARIANT_PX, reverse=True):
        current = current.resize((px, px), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
        box = None
        out += _save(current, "WEBP", quality=80, method=2)
        out += _save(current, "JPEG", quality=82, progressive=True, optimize=False)
    current.resize((1, 1), Image.Resampling.BOX).tobytes()  # the placeholder colour
    return out


def reference_cpu(data: bytes) -> float:
    """CPU milliseconds reference() takes (the pool's processes run one at a time each)."""
    start = time.process_time()
    reference(data)
    return (time.process_time() - start) * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the server has used so far, its decode workers included (the
    cage runs every decode in a child process)."""
    return under_attack.cpu_seconds(pid)


def _save(im: Image.Image, fmt: str, **options: object) -> int:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return len(buf.getvalue())


# --- the server --------------------------------------------------------------------------------


def members(server: Server) -> list[tuple[int, str]]:
    """(member id, API token) for MEMBERS new members."""
    made = []
    for n in range(MEMBERS):
        member = int(server.ppsync("user", "add", f"member{n}", stdin=PASSWORD))
        made.append((member, server.ppsync("token", "add", f"member{n}")))
    return made


def uploader(
    server: Server, photo: bytes, *, refused: bool = False, fields: dict[str, str] | None = None
) -> Callable[[tuple[int, str]], float]:
    """Times one upload (with these multipart fields besides the file and the userId);
    `refused`: the same request with a userId the server answers 400 to, once it has read and
    parsed the whole body."""

    def upload(member: tuple[int, str]) -> float:
        user_id, token = member
        body, boundary = _multipart("none" if refused else user_id, photo, fields)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        start = time.perf_counter()
        try:
            request(server, "/api/profile/upload-picture", data=body, headers=headers)
        except HTTPError as error:
            if not (refused and error.code == 400):
                raise
        return (time.perf_counter() - start) * 1000

    return upload


def durable_writer(photo: bytes, root: Path) -> Callable[[bytes], None]:
    """Writes one upload's files, durably, under a new name each call."""
    processed, store = process(photo), DiskStore(root)

    def write(_: bytes) -> None:
        store.write(processed_files(1, new_name(), processed))

    return write


def timed(fn: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    fn(data)
    return (time.perf_counter() - start) * 1000


# --- the runs ----------------------------------------------------------------------------------


def latency(
    photo: bytes,
    server: Server,
    upload: Callable[[tuple[int, str]], float],
    team: list[tuple[int, str]],
    runs: int,
    root: Path,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall milliseconds of each row, alternating; and the CPU milliseconds the server spent on
    the transport and each upload, and this process (its threads too) on the durable writes
    and on process() with and without the face search."""
    assert server.process is not None
    pid = server.process.pid
    sent = {key: uploader(server, photo, fields=fields) for key, (_, fields) in OPTIONS.items()}
    sent |= {"upload": upload, "transport": uploader(server, photo, refused=True)}
    portrait = with_a_face(photo)
    sent["face upload"] = uploader(server, portrait)
    here = {
        "face floor": lambda _: draft_decode(portrait),
        "floor": draft_decode,
        "reference": reference,
        "durable": durable_writer(photo, root),
        "searched": process,
        "centre": partial(process, crop=centre_crop(3024, 4032)),  # upright: orientation 6
    }
    keys = [*LATENCY_ROWS, *OPTIONS, *SEARCH_ROWS, *FACE_ROWS]
    times: dict[str, list[float]] = {key: [] for key in keys}
    cpu: dict[str, list[float]] = {key: [] for key in keys}
    for run in range(runs):
        member = team[run % len(team)]
        for key in dict.fromkeys(keys):
            if key in sent:
                start = cpu_seconds(pid)
                times[key].append(sent[key](member))
                cpu[key].append((cpu_seconds(pid) - start) * 1000)
            else:
                start = time.process_time()
                times[key].append(timed(here[key], photo))
                cpu[key].append((time.process_time() - start) * 1000)
    return times, cpu


def throughput(photo: bytes, upload, team: list, pool: ProcessPoolExecutor, rounds: int, pid: int):
    """Wall-clock uploads/s of both, and the CPU milliseconds each spent per photo."""
    ref_rates, api_rates, ref_cpu, api_cpu = [], [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        ref_cpu += pool.map(reference_cpu, [photo] * MEMBERS)
        ref_rates.append(MEMBERS / (time.perf_counter() - start))
        start, start_cpu = time.perf_counter(), cpu_seconds(pid)
        with ThreadPoolExecutor(IN_FLIGHT) as clients:
            list(clients.map(upload, team))
        api_rates.append(MEMBERS / (time.perf_counter() - start))
        api_cpu.append((cpu_seconds(pid) - start_cpu) * 1000 / MEMBERS)
    return ref_rates, api_rates, ref_cpu, api_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    photo = exif_photo()
    with (
        tempfile.TemporaryDirectory(prefix="ppsync-upload-") as tmp,
        ProcessPoolExecutor(REFERENCE_PROCESSES) as pool,
    ):
        server = bench_server(Path(tmp), f"sqlite:///{Path(tmp) / 'app.db'}", 100000)
        server.start()
        try:
            team = members(server)
            upload = uploader(server, photo)
            list(pool.map(reference, [photo] * REFERENCE_PROCESSES))  # warm up both
            reference(photo)
            upload(team[0])
            times, cpu = latency(photo, server, upload, team, args.runs, Path(tmp) / "durable")
            assert server.process is not None
            rates = throughput(photo, upload, team, pool, args.rounds, server.process.pid)
        finally:
            server.stop()
    report(times, cpu, rates, photo, args)


if __name__ == "__main__":
    main()
