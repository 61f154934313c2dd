"""Profiles, preferences, the keyring and the key resolution order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caged_core import config, locator
from caged_core.config import (
    CLOUD_PROFILE,
    DEFAULT_BASE_URL,
    LOCAL_PROFILE,
    Credentials,
    Settings,
)
from caged_core.errors import CagedConfigError

KEY = "caged_sk_CONFIGSECRET123"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home and config dir of our own, and no CAGED_* variables from the caller."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("CAGED_API_KEY", "CAGED_API_URL", "CAGED_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write_cli_config(tmp_path: Path, **values: str) -> None:
    path = tmp_path / "home" / ".config" / "caged" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(values))


def test_paths(isolated: Path) -> None:
    assert config.config_path() == isolated / "xdg" / "caged-tui" / "config.json"
    assert config.cli_config_path() == isolated / "home" / ".config" / "caged" / "config.json"


def test_builtin_profiles_and_defaults() -> None:
    settings = config.load_settings()
    assert settings.profile(CLOUD_PROFILE).base_url == DEFAULT_BASE_URL
    assert settings.profile(LOCAL_PROFILE).base_url is None
    assert settings.default_profile == CLOUD_PROFILE
    assert settings.preferences.theme is None and dict(settings.preferences.keymap) == {}
    with pytest.raises(CagedConfigError, match="unknown profile 'nope'"):
        settings.profile("nope")


def test_profiles_and_preferences_round_trip() -> None:
    config.save_profile("staging", "https://staging.example/", make_default=True)
    config.save_preferences(theme="nord", keymap={"refresh": "r,ctrl+r"})
    config.save_preferences(keymap={"quit": "q"})  # theme left as it is
    settings = config.load_settings()
    assert settings.profile("staging").base_url == "https://staging.example"
    assert settings.default_profile == "staging"
    prefs = config.load_preferences()
    assert prefs.theme == "nord" and dict(prefs.keymap) == {"quit": "q"}
    written = json.loads(config.config_path().read_text())
    assert LOCAL_PROFILE not in written["profiles"]
    with pytest.raises(CagedConfigError):
        config.save_profile(LOCAL_PROFILE, "http://127.0.0.1:1")


def test_the_file_never_holds_secrets(memory_keyring: object) -> None:
    config.save_profile("cloud", DEFAULT_BASE_URL)
    config.save_api_key("cloud", KEY)
    config.save_preferences(theme="x")
    assert KEY not in config.config_path().read_text()
    # a key someone wrote into the file by hand is ignored, not used
    data = json.loads(config.config_path().read_text())
    data["profiles"]["cloud"]["api_key"] = "caged_sk_handwritten"
    config.config_path().write_text(json.dumps(data))
    config.delete_api_key("cloud")
    with pytest.raises(CagedConfigError):
        config.resolve_credentials("cloud")


def test_broken_config_file_is_a_clear_error() -> None:
    path = config.config_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(CagedConfigError, match="not valid JSON"):
        config.load_settings()
    path.write_text("[1, 2]")
    with pytest.raises(CagedConfigError, match="JSON object"):
        config.load_settings()


def test_keyring_round_trip(memory_keyring: object) -> None:
    assert config.keyring_available()
    assert config.load_api_key("cloud") is None
    config.save_api_key("cloud", KEY)
    assert config.load_api_key("cloud") == KEY
    config.delete_api_key("cloud")
    config.delete_api_key("cloud")  # deleting twice is fine
    assert config.load_api_key("cloud") is None


def test_without_a_keyring(no_keyring: None) -> None:
    assert not config.keyring_available()
    with pytest.raises(CagedConfigError, match="No system keyring") as info:
        config.save_api_key("cloud", KEY)
    assert "CAGED_API_KEY" in str(info.value) and KEY not in str(info.value)
    assert config.load_api_key("cloud") is None
    with pytest.raises(CagedConfigError, match="no keyring is available"):
        config.resolve_credentials()


def test_resolution_order(
    memory_keyring: object, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cli_config(isolated, api_key="caged_sk_fromcli", api_url="https://cli.example")
    got = config.resolve_credentials()
    assert (got.api_key, got.base_url) == ("caged_sk_fromcli", "https://cli.example")
    assert got.source.startswith("official CLI config") and got.profile == CLOUD_PROFILE

    config.save_api_key("cloud", "caged_sk_fromkeyring")
    got = config.resolve_credentials()
    assert (got.api_key, got.base_url) == ("caged_sk_fromkeyring", DEFAULT_BASE_URL)
    assert got.source == "keyring (profile 'cloud')"

    monkeypatch.setenv("CAGED_API_KEY", "caged_sk_fromenv")
    got = config.resolve_credentials()
    assert got.api_key == "caged_sk_fromenv" and got.source == "environment (CAGED_API_KEY)"

    got = config.resolve_credentials(api_key="caged_sk_explicit")
    assert got.api_key == "caged_sk_explicit" and got.source == "argument"

    monkeypatch.setenv("CAGED_API_URL", "https://env.example/")
    assert config.resolve_credentials().base_url == "https://env.example"
    assert config.resolve_credentials(base_url="http://x").base_url == "http://x"


def test_profile_selection(memory_keyring: object, monkeypatch: pytest.MonkeyPatch) -> None:
    config.save_profile("staging", "https://staging.example")
    config.save_api_key("staging", "caged_sk_staging")
    got = config.resolve_credentials("staging")
    assert (got.base_url, got.profile) == ("https://staging.example", "staging")
    monkeypatch.setenv("CAGED_PROFILE", "staging")
    assert config.resolve_credentials().profile == "staging"
    with pytest.raises(CagedConfigError, match="unknown profile"):
        config.resolve_credentials("missing", api_key=KEY)


@pytest.fixture
def local_server(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> Path:
    """Pretend the embedded platform runs at 127.0.0.1:4000 with a data dir of ours."""
    data_dir = isolated / "local-data"
    data_dir.mkdir()
    monkeypatch.setattr(locator, "default_data_dir", lambda: data_dir)
    monkeypatch.setattr(
        locator,
        "status",
        lambda data_dir=None: locator.ServerStatus(True, "http://127.0.0.1:4000", 1),
    )
    return data_dir


def test_local_profile_discovers_the_running_server(local_server: Path) -> None:
    (local_server / "api_key").write_text("caged_sk_localfile\n")
    got = config.resolve_credentials(LOCAL_PROFILE)
    assert (got.base_url, got.api_key) == ("http://127.0.0.1:4000", "caged_sk_localfile")
    assert got.source == "the local platform's key file"
    assert config.resolve_credentials(LOCAL_PROFILE, api_key=KEY).source == "argument"


def test_local_profile_without_a_server(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    monkeypatch.setattr(locator, "default_data_dir", lambda: isolated / "nothing")
    with pytest.raises(CagedConfigError, match="not running"):
        config.resolve_credentials(LOCAL_PROFILE, api_key=KEY)
    got = config.resolve_credentials(LOCAL_PROFILE, api_key=KEY, base_url="http://127.0.0.1:4001")
    assert got.base_url == "http://127.0.0.1:4001"


def test_broken_cli_config_is_ignored(isolated: Path) -> None:
    path = config.cli_config_path()
    path.parent.mkdir(parents=True)
    path.write_text("garbage")
    with pytest.raises(CagedConfigError, match="no API key"):
        config.resolve_credentials()


def test_credentials_repr_hides_the_key() -> None:
    credentials = Credentials(base_url="u", api_key=KEY, source="argument", profile="cloud")
    assert KEY not in repr(credentials)


def test_settings_json_is_tolerant() -> None:
    settings = Settings.from_json(
        {"profiles": {"x": "not a dict", "local": {"base_url": "http://pinned"}}, "keymap": [1]}
    )
    assert settings.profile("x").base_url == DEFAULT_BASE_URL
    assert settings.profile(LOCAL_PROFILE).base_url is None
    assert dict(settings.preferences.keymap) == {}


def test_async_client_resolves_credentials(
    memory_keyring: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caged_core import AsyncCaged

    monkeypatch.setenv("CAGED_API_KEY", KEY)
    monkeypatch.setenv("CAGED_API_URL", "http://127.0.0.1:9999")
    client = AsyncCaged()
    assert client.base_url == "http://127.0.0.1:9999"
    assert client._core.api_key.reveal() == KEY
    monkeypatch.delenv("CAGED_API_KEY")
    with pytest.raises(CagedConfigError):
        AsyncCaged()
