"""`ppsync serve --workers N` (web/cli/workers.py): the flag, the refusal without Redis, what
each worker runs with, and the config uvicorn's supervisor pickles into each worker. Serving
with two workers, and one killed: tests/e2e/test_workers.py."""

from __future__ import annotations

import pickle
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from uvicorn.config import STARTUP_FAILURE

from tests.cli import ppsync
from web.cli import _parser, workers
from web.overrides.server_limits import ServerLimits, protocol_class
from web.overrides.worker_config import WorkerConfig
from web.settings import Settings


def test_serve_runs_one_worker_unless_told() -> None:
    assert _parser().parse_args(["serve"]).workers == 1
    assert _parser().parse_args(["serve", "--workers", "3"]).workers == 3


@pytest.mark.parametrize(("given", "said"), [("0", "at least 1"), ("two", "not a whole number")])
def test_serve_refuses_a_worker_count_that_is_not_a_positive_whole_number(
    tmp_path: Path, given: str, said: str
) -> None:
    result = ppsync(tmp_path, "serve", "--workers", given)
    assert result.returncode == 2
    assert said in result.stderr


def test_serve_refuses_several_workers_without_redis_and_names_what_to_set(
    tmp_path: Path,
) -> None:
    result = ppsync(tmp_path, "serve", "--port", "9", "--workers", "2")
    assert result.returncode == 2
    assert "--workers 2 needs REDIS_URL" in result.stderr
    assert "Open files" not in result.stderr  # refused before the server began to start


def test_one_worker_needs_no_redis(settings: Settings) -> None:
    assert workers.refusal(settings, 1) is None


def test_several_workers_with_redis_are_not_refused(settings: Settings) -> None:
    assert workers.refusal(replace(settings, redis_url="redis://x"), 2) is None


def test_each_worker_gets_its_share_of_the_cores_plus_one_when_image_workers_is_unset(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert workers.per_worker(settings, 2, {}).image_workers == 5
    assert workers.per_worker(settings, 3, {}).image_workers == 4  # 8 / 3 rounded up, + 1
    assert workers.per_worker(settings, 16, {}).image_workers == 2
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert workers.per_worker(settings, 2, {}).image_workers == 2


def test_image_workers_set_is_kept_per_worker(settings: Settings) -> None:
    given = replace(settings, image_workers=3)
    assert workers.per_worker(given, 2, {"IMAGE_WORKERS": "3"}).image_workers == 3


def test_one_worker_keeps_its_settings(settings: Settings) -> None:
    assert workers.per_worker(settings, 1, {}) is settings


def test_the_worker_config_pickles_and_makes_the_limited_protocol_in_the_worker(
    settings: Settings,
) -> None:
    make = partial(protocol_class, 7, max_header_bytes=4096, max_connections=99)
    config = WorkerConfig(
        make, app=partial(workers.app_of, settings), factory=True, workers=2, proxy_headers=False
    )
    in_worker = pickle.loads(pickle.dumps(config))  # noqa: S301 (as uvicorn's spawn hands it over)
    in_worker.load()
    made = in_worker.http_protocol_class
    assert issubclass(made, ServerLimits)
    assert (made.header_timeout, made.max_header_bytes, made.max_connections) == (7, 4096, 99)
    assert in_worker.loaded_app.state["settings"] == settings


def test_a_worker_that_cannot_make_the_app_exits_so_that_the_supervisor_stops(
    settings: Settings,
) -> None:
    broken = replace(settings, database_url="nosuch://x")  # no such database dialect
    config = WorkerConfig(
        partial(protocol_class, 10), app=partial(workers.app_of, broken), factory=True
    )
    with pytest.raises(SystemExit) as stopped:
        config.load()
    assert stopped.value.code == STARTUP_FAILURE
