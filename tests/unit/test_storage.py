"""DiskStore: atomic writes under a root, keys that cannot escape it."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests import images
from web.services.imaging import Processed, process
from web.services.pictures.names import (
    MediaUrls,
    PictureRef,
    master_key,
    new_name,
    owner_of,
    variant_key,
)
from web.services.pictures.storage import TEMP_PREFIX, DiskStore
from web.services.pictures.stores import media_store
from web.settings import Settings

USER = 42
NAME = "5" * 32  # what new_name() gives an upload's files


@pytest.fixture(scope="module")
def processed() -> Processed:
    return process(images.jpeg())


@pytest.fixture(scope="module")
def animated() -> Processed:
    return process(images.animated_gif())


@pytest.fixture
def store(tmp_path: Path) -> DiskStore:
    return DiskStore(tmp_path / "media")


def files_in(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_public_key_is_the_url_path() -> None:
    key = variant_key(7, "ab" * 16, 96, "webp")
    assert key == f"avatars/7/{'ab' * 16}-96.webp"


def test_animated_public_key_is_marked_anim() -> None:
    key = variant_key(7, "ab" * 16, 96, "webp", animated=True)
    assert key == f"avatars/7/{'ab' * 16}-96.anim.webp"


def test_master_key_is_outside_avatars() -> None:
    assert master_key(7, "ab" * 16, "jpg") == f"masters/7/{'ab' * 16}.jpg"


def test_key_with_a_bad_digest_is_refused() -> None:
    with pytest.raises(ValueError):
        variant_key(7, "../../etc/passwd", 96, "webp")


def test_write_processed_writes_master_and_every_variant(
    store: DiskStore, processed: Processed
) -> None:
    keys = store.write_processed(USER, NAME, processed)
    assert len(keys) == len(processed.variants) + 1
    assert files_in(store.root) == sorted(keys)
    master = master_key(USER, NAME, processed.master.ext)
    assert store.path(master).read_bytes() == processed.master.data
    for variant in processed.variants:
        key = variant_key(USER, NAME, variant.px, variant.ext)
        assert store.path(key).read_bytes() == variant.data


def test_write_processed_keeps_animated_and_still_webp_apart(
    store: DiskStore, animated: Processed
) -> None:
    keys = store.write_processed(USER, NAME, animated)
    assert len(set(keys)) == len(animated.variants) + 1
    assert any(key.endswith("-96.anim.webp") for key in keys)
    assert any(key.endswith("-96.webp") for key in keys)


def test_served_variants_are_world_readable_and_masters_private(
    store: DiskStore, processed: Processed
) -> None:
    store.write_processed(USER, NAME, processed)
    variant = store.path(variant_key(USER, NAME, 96, "webp"))
    master = store.path(master_key(USER, NAME, processed.master.ext))
    assert stat.S_IMODE(variant.stat().st_mode) == 0o644
    assert stat.S_IMODE(master.stat().st_mode) & 0o077 == 0


def test_write_processed_again_is_idempotent(store: DiskStore, processed: Processed) -> None:
    first = store.write_processed(USER, NAME, processed)
    mtimes = {key: store.path(key).stat().st_mtime_ns for key in first}
    assert store.write_processed(USER, NAME, processed) == first
    assert {key: store.path(key).stat().st_mtime_ns for key in first} == mtimes


def test_exists_reports_written_files(store: DiskStore, processed: Processed) -> None:
    key = master_key(USER, NAME, processed.master.ext)
    assert not store.exists(key)
    store.write_processed(USER, NAME, processed)
    assert store.exists(key)


def test_read_and_open_give_the_bytes_of_a_file(store: DiskStore, processed: Processed) -> None:
    key = master_key(USER, NAME, processed.master.ext)
    store.write_processed(USER, NAME, processed)
    blob = store.open(key)
    assert blob is not None
    assert blob.size == len(processed.master.data)
    assert b"".join(blob.chunks) == store.read(key) == processed.master.data


def test_open_of_a_missing_key_is_none_and_read_is_file_not_found(store: DiskStore) -> None:
    key = f"avatars/{USER}/{'0' * 32}-96.webp"
    assert store.open(key) is None
    with pytest.raises(FileNotFoundError):
        store.read(key)


def test_keys_under_gives_each_files_size_and_mtime(store: DiskStore) -> None:
    key = f"avatars/{USER}/{'0' * 32}-96.webp"
    store.write([(key, b"12345")])
    [item] = store.keys_under(f"avatars/{USER}")
    assert (item.key, item.size, item.modified) == (key, 5, store.path(key).stat().st_mtime)


def test_media_store_without_media_store_setting_is_the_disk(settings: Settings) -> None:
    store = media_store(settings)
    assert isinstance(store, DiskStore)
    assert store.root == settings.media_root


def test_remove_deletes_and_ignores_missing(store: DiskStore, processed: Processed) -> None:
    keys = store.write_processed(USER, NAME, processed)
    store.remove([*keys, f"avatars/{USER}/{'0' * 32}-96.webp"])
    assert files_in(store.root) == []


def test_failure_midway_leaves_no_files(
    store: DiskStore, processed: Processed, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls: list[Any] = []

    def replace_once(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) > 1:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_once)
    with pytest.raises(OSError, match="disk full"):
        store.write_processed(USER, NAME, processed)
    assert len(calls) == 2
    assert files_in(store.root) == []


def test_failure_midway_keeps_files_that_were_already_there(
    store: DiskStore, processed: Processed, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = store.write_processed(USER, NAME, processed)
    store.path(keys[-1]).unlink()  # the master is missing, the variants are there

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        store.write_processed(USER, NAME, processed)
    assert files_in(store.root) == sorted(keys[:-1])


def test_a_write_failing_on_its_thread_leaves_no_files_and_no_temps(
    store: DiskStore, processed: Processed, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync_fails_once(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError("I/O error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_once)
    with pytest.raises(OSError, match="I/O error"):
        store.write_processed(USER, NAME, processed)
    assert files_in(store.root) == []


def test_the_master_is_renamed_into_place_last(
    store: DiskStore, processed: Processed, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    renamed: list[Path] = []

    def recording_replace(src: Any, dst: Any) -> None:
        renamed.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    keys = store.write_processed(USER, NAME, processed)
    assert renamed == [store.path(key) for key in keys]
    assert keys[-1] == master_key(USER, NAME, processed.master.ext)


def test_no_temp_files_left_behind(store: DiskStore, processed: Processed) -> None:
    store.write_processed(USER, NAME, processed)
    assert not [p for p in store.root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize(
    "key",
    ["../secret", "avatars/../../secret", "/etc/passwd", "avatars/1/\0x", "", ".", "a//b", "a\\b"],
)
def test_path_refuses_keys_that_escape_the_root(store: DiskStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.path(key)


def test_path_refuses_a_symlink_out_of_the_root(store: DiskStore, tmp_path: Path) -> None:
    (store.root / "avatars").mkdir(parents=True)
    (store.root / "avatars" / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError):
        store.path("avatars/link/secret")


def test_path_resolves_inside_the_root(store: DiskStore) -> None:
    path = store.path("avatars/1/x.webp")
    assert path == store.root.resolve() / "avatars" / "1" / "x.webp"


def test_keys_under_lists_files_and_temp_leftovers(store: DiskStore, processed: Processed) -> None:
    keys = store.write_processed(USER, NAME, processed)
    leftover = store.root / "avatars" / str(USER) / f"{TEMP_PREFIX}abc.webp"
    leftover.write_bytes(b"half")
    listed = [i.key for folder in ("avatars", "masters") for i in store.keys_under(folder)]
    assert sorted(listed) == sorted([*keys, f"avatars/{USER}/{leftover.name}"])


def test_keys_under_a_missing_prefix_is_empty(store: DiskStore) -> None:
    assert list(store.keys_under("avatars")) == []


def test_new_name_is_32_hex_and_fresh_each_time() -> None:
    names = {new_name() for _ in range(100)}
    assert len(names) == 100
    assert all(len(name) == 32 and int(name, 16) >= 0 for name in names)


def test_two_uploads_of_the_same_picture_share_no_file(
    store: DiskStore, processed: Processed
) -> None:
    first = store.write_processed(USER, new_name(), processed)
    second = store.write_processed(USER, new_name(), processed)
    assert not set(first) & set(second)
    store.remove(second)
    assert files_in(store.root) == sorted(first)


def test_picture_ref_urls_are_the_served_keys() -> None:
    ref = PictureRef(7, "ab" * 16, "png", "#000000", "data:,", animated=True)
    media = MediaUrls()
    assert media(ref, 96) == "/media/" + variant_key(7, "ab" * 16, 96, "png")
    assert media(ref, 96, "webp") == "/media/" + variant_key(7, "ab" * 16, 96, "webp")
    assert media(ref, 48, animated=True) == f"/media/avatars/7/{'ab' * 16}-48.anim.webp"
    cdn = MediaUrls("https://cdn.example.org/avatars/")
    assert cdn(ref, 96) == "https://cdn.example.org/avatars/" + ref.key(96)


def test_owner_of_names_the_member_and_files_of_any_key() -> None:
    name = "cd" * 16
    assert owner_of(variant_key(3, name, 96, "jpg")) == (3, name)
    assert owner_of(master_key(3, name, "webp")) == (3, name)
    assert owner_of("elsewhere/3/x") is None
