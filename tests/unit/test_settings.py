from __future__ import annotations

import os
import re
from dataclasses import fields, replace
from pathlib import Path

import pytest

from web import settings as settings_module
from web.services.imaging.types import Ceilings
from web.settings import FAST_INSECURE_HASHER, MIB, Settings, SettingsError


def test_defaults_put_database_and_media_under_var(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'app.db'}"
    assert settings.media_root == tmp_path / "media"
    assert settings.max_upload_bytes == 10 * MIB
    assert settings.redis_url is None
    assert settings.production is False


def test_environment_overrides_each_setting(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql://db/app",
            "MEDIA_ROOT": "/srv/media",
            "REDIS_URL": "redis://cache:6379/1",
            "SECRET_KEY": "k" * 40,
            "MAX_UPLOAD_BYTES": "1024",
            "CLAMD_SOCKET": "/run/clamd.sock",
        }
    )
    assert settings.database_url == "postgresql://db/app"
    assert settings.media_root == Path("/srv/media")
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.secret_key == "k" * 40
    assert settings.max_upload_bytes == 1024
    assert settings.clamd_socket == "/run/clamd.sock"


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env({"VAR_DIR": str(tmp_path)}).secret_key
    second = Settings.from_env({"VAR_DIR": str(tmp_path)}).secret_key
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_without_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "APP_ENV": "production"})
    assert not (tmp_path / "secret_key").exists()


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "SECRET_KEY": "short"})


@pytest.mark.parametrize("raw", ["ten", "-5", "0"])
def test_malformed_upload_cap_names_the_setting(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="MAX_UPLOAD_BYTES"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "MAX_UPLOAD_BYTES": raw})


def test_media_store_unset_means_disk_and_the_apps_own_urls(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert settings.media_store is None
    assert settings.media_url_base is None


def test_media_store_and_the_aws_variables_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "VAR_DIR": str(tmp_path),
            "MEDIA_STORE": "s3://avatars-bucket/site",
            "AWS_ENDPOINT_URL": "https://s3.example.org",
            "AWS_REGION": "eu-west-1",
            "MEDIA_URL_BASE": "https://cdn.example.org/avatars",
        }
    )
    assert settings.media_store == "s3://avatars-bucket/site"
    assert settings.aws_endpoint_url == "https://s3.example.org"
    assert settings.aws_region == "eu-west-1"
    assert settings.media_url_base == "https://cdn.example.org/avatars/"


@pytest.mark.parametrize("raw", ["/srv/media", "s3://ab/site", "s3://bucket/../up", "bucket"])
def test_media_store_that_is_not_a_bucket_url_is_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="MEDIA_STORE"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "MEDIA_STORE": raw})


@pytest.mark.parametrize("raw", ["cdn.example.org", "/media/", "ftp://cdn.example.org"])
def test_media_url_base_that_is_not_an_http_url_is_refused(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="MEDIA_URL_BASE"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "MEDIA_URL_BASE": raw})


def test_header_timeout_is_10_s_unless_set(tmp_path: Path) -> None:
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).header_timeout == 10
    set_to_3 = Settings.from_env({"VAR_DIR": str(tmp_path), "HEADER_TIMEOUT": "3"})
    assert set_to_3.header_timeout == 3
    with pytest.raises(SettingsError, match="HEADER_TIMEOUT"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "HEADER_TIMEOUT": "0"})


def test_decode_ceilings_default_to_512_mb_10_s_20_s_and_a_worker_a_core(tmp_path: Path) -> None:
    ceilings = Settings.from_env({"VAR_DIR": str(tmp_path)}).image_limits().ceilings
    assert (ceilings.memory_mb, ceilings.cpu_seconds, ceilings.deadline_seconds) == (512, 10, 20)
    assert ceilings.workers == (os.cpu_count() or 1)


def test_decode_ceilings_are_read_from_the_environment(tmp_path: Path) -> None:
    env = {"IMAGE_MEMORY_MB": "64", "IMAGE_CPU_SECONDS": "2", "IMAGE_DEADLINE_SECONDS": "5"}
    limits = Settings.from_env(
        {"VAR_DIR": str(tmp_path), "IMAGE_WORKERS": "3", **env}
    ).image_limits()
    assert limits.ceilings == Ceilings(memory_mb=64, cpu_seconds=2, deadline_seconds=5, workers=3)
    assert limits.max_bytes == 10 * 2**20
    for name in [*env, "IMAGE_WORKERS"]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({"VAR_DIR": str(tmp_path), name: "0"})


def test_max_header_bytes_is_64_kib_unless_set(tmp_path: Path) -> None:
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).max_header_bytes == 65536
    env = {"VAR_DIR": str(tmp_path), "MAX_HEADER_BYTES": "8192"}
    assert Settings.from_env(env).max_header_bytes == 8192


def test_max_connections_follows_the_open_file_limit_unless_set(tmp_path: Path) -> None:
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).max_connections is None
    env = {"VAR_DIR": str(tmp_path), "MAX_CONNECTIONS": "5000"}
    assert Settings.from_env(env).max_connections == 5000
    with pytest.raises(SettingsError, match="MAX_CONNECTIONS"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "MAX_CONNECTIONS": "0"})


def test_password_hasher_is_argon2_unless_set(tmp_path: Path) -> None:
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).password_hasher == "argon2"
    fast = Settings.from_env({"VAR_DIR": str(tmp_path), "PASSWORD_HASHER": FAST_INSECURE_HASHER})
    assert fast.password_hasher == "fast-insecure-test-only"


def test_unknown_password_hasher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PASSWORD_HASHER must be one of"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "PASSWORD_HASHER": "md5"})


def test_production_refuses_the_fast_password_hasher(tmp_path: Path) -> None:
    production = {"VAR_DIR": str(tmp_path), "APP_ENV": "production", "SECRET_KEY": "k" * 40}
    with pytest.raises(SettingsError, match="production refuses it"):
        Settings.from_env(production | {"PASSWORD_HASHER": FAST_INSECURE_HASHER})
    with pytest.raises(SettingsError, match="production refuses it"):
        replace(Settings.from_env(production), password_hasher=FAST_INSECURE_HASHER)


def test_readme_lists_every_variable_with_its_default() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z_0-9]+)`[^|]*\| ([^|]+) \|", readme, re.MULTILINE))
    defaults = {field.name: field.default for field in fields(Settings)}
    for field, name, _ in settings_module._FROM_ENV:
        assert name in rows, f"README's settings table has no row for {name}"
        default = defaults[field]
        if isinstance(default, int | str) and not isinstance(default, bool) and default:
            assert rows[name].startswith(f"`{default}`"), (name, rows[name])


def test_fetch_settings_default_to_no_network_and_10_s(tmp_path: Path) -> None:
    settings = Settings.from_env({"VAR_DIR": str(tmp_path)})
    assert (settings.fetch_allowed_networks, settings.fetch_deadline_seconds) == ((), 10)
    env = {"FETCH_ALLOWED_NETWORKS": "127.0.0.0/8, 10.1.0.0/16", "FETCH_DEADLINE_SECONDS": "3"}
    read = Settings.from_env({"VAR_DIR": str(tmp_path), **env})
    assert [str(network) for network in read.fetch_allowed_networks] == [
        "127.0.0.0/8",
        "10.1.0.0/16",
    ]
    assert read.fetch_deadline_seconds == 3


@pytest.mark.parametrize("raw", ["10.0.0.0/33", "intranet", "127.0.0.0/8,,fe80::/200"])
def test_a_bad_fetch_network_refuses_to_start_naming_it(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match="FETCH_ALLOWED_NETWORKS: .* is not an address or CIDR"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "FETCH_ALLOWED_NETWORKS": raw})


def test_avif_copies_are_on_unless_set_off(tmp_path: Path) -> None:
    assert Settings.from_env({"VAR_DIR": str(tmp_path)}).avif_copies is True
    for raw, value in [("off", False), ("OFF", False), ("on", True)]:
        read = Settings.from_env({"VAR_DIR": str(tmp_path), "AVIF_COPIES": raw})
        assert read.avif_copies is value


def test_a_bad_avif_copies_value_refuses_to_start_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="AVIF_COPIES must be on or off"):
        Settings.from_env({"VAR_DIR": str(tmp_path), "AVIF_COPIES": "yes"})
