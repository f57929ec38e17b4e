"""The decode cage: jobs in worker processes under kernel ceilings (imaging/cage.py)."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from tests import cage_jobs, images
from web.services import imaging
from web.services.imaging import cage, handover
from web.services.imaging.types import Ceilings, ImageRejected, Limits

# Small ceilings, so that each test reaches them fast; workers=1 makes "the next job" land on
# the replacement of the worker that was stopped.
TIGHT = Ceilings(memory_mb=64, cpu_seconds=1, deadline_seconds=2, workers=1)
# Time for a worker to start and warm up on a loaded machine, on top of a ceiling.
START_SLACK = 10.0


def refusal(ceilings: Ceilings, job: object, **kwargs: object) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        cage.run(ceilings, job, b"", **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_caged_process_makes_what_the_pipeline_makes() -> None:
    data = images.jpeg((640, 480))
    assert cage.process(data).digest == imaging.process(data).digest


def test_a_refusal_in_the_worker_reaches_the_caller_as_it_is() -> None:
    with pytest.raises(ImageRejected) as caught:
        cage.process(images.truncated_png())
    assert (caught.value.status, caught.value.code) == (422, "corrupt")


def test_cpu_ceiling_stops_the_job_and_the_next_one_runs() -> None:
    started = time.monotonic()
    error = refusal(TIGHT, cage_jobs.spin)
    assert (error.status, error.code) == (422, "too_slow")
    assert "took too long to decode" in error.message
    assert time.monotonic() - started < TIGHT.deadline_seconds + START_SLACK
    assert cage.run(TIGHT, cage_jobs.echo, b"still here") == b"still here"


def test_deadline_kills_a_job_that_waits_without_using_cpu() -> None:
    ceilings = Ceilings(cpu_seconds=30, deadline_seconds=1, workers=1)
    cage.run(ceilings, cage_jobs.echo, b"")  # the worker is up: time the job alone
    started = time.monotonic()
    error = refusal(ceilings, cage_jobs.sleep, seconds=60)
    assert error.code == "too_slow"
    assert time.monotonic() - started < 1 + START_SLACK
    assert cage.run(ceilings, cage_jobs.echo, b"next") == b"next"


def test_memory_ceiling_refuses_an_allocation_past_it() -> None:
    assert cage.run(TIGHT, cage_jobs.allocate, b"", mib=16) == 16 * 2**20
    error = refusal(TIGHT, cage_jobs.allocate, mib=256)
    assert (error.status, error.code) == (422, "too_much_memory")
    assert "uses too much memory to decode" in error.message


def test_a_crashing_decoder_is_a_refusal_and_the_pool_goes_on() -> None:
    error = refusal(TIGHT, cage_jobs.crash)
    assert (error.status, error.code) == (422, "corrupt")
    assert cage.run(TIGHT, cage_jobs.echo, b"after") == b"after"


def large_photo_png() -> bytes:
    """24 MP as PNG: it decodes whole (72 MB of RGB), where a JPEG decodes at its draft scale
    (1/8: a 24 MP JPEG fits in 64 MB). Smooth light, so that it is quick to make."""
    light = Image.linear_gradient("L").resize((6000, 4000))
    return images.encode(Image.merge("RGB", (light, light, light)), "PNG", compress_level=1)


def test_24_mp_photo_is_refused_at_64_mb_and_accepted_at_the_default() -> None:
    data = large_photo_png()
    small = Limits(max_bytes=len(data), ceilings=Ceilings(memory_mb=64))
    with pytest.raises(ImageRejected) as caught:
        cage.process(data, limits=small)
    assert caught.value.code == "too_much_memory"
    processed = cage.process(data, limits=Limits(max_bytes=len(data)))
    assert (processed.source_width, processed.source_height) == (6000, 4000)


def test_a_worker_reads_exactly_the_bytes_handed_to_it_even_past_a_slots_size() -> None:
    small, large = b"first", bytes(range(256)) * 20_000  # 5 MB: the slot grows
    assert cage.run(TIGHT, cage_jobs.echo, small) == small
    assert cage.run(TIGHT, cage_jobs.echo, large) == large
    assert cage.run(TIGHT, cage_jobs.echo, small) == small


def test_an_empty_upload_after_another_is_handed_over_empty() -> None:
    assert cage.run(TIGHT, cage_jobs.echo, b"an earlier member's photo") != b""
    assert cage.run(TIGHT, cage_jobs.echo, b"") == b""


def test_handover_slots_are_reused_not_made_per_upload() -> None:
    with handover.handed(b"one") as first:
        pass
    with handover.handed(b"two") as second:
        pass
    assert first == second
