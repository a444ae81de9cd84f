"""config.toml's [station] table: every key, where each setting comes from, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from expunge.core.config import Home, explained_settings, load_settings, system_log
from expunge.core.errors import UsageError


def _home(tmp_path: Path, text: str | None) -> Home:
    home = Home(tmp_path)
    if text is not None:
        home.config_path.write_text(text, encoding="utf-8")
    return home


def test_every_station_key_is_read_with_its_source(tmp_path: Path) -> None:
    home = _home(
        tmp_path,
        '[station]\noperator = "Ann"\noperator_title = "Records officer"\n'
        'organization = "Agency"\nlocation = "Room 4"\nhost = "ws-1"\nphone = "+49 228 0"\n'
        'media_source = "finance"\ndestination = "reuse"\nkey_passphrase_file = "/etc/p"\n',
    )
    settings, sources = explained_settings(home, {})
    assert settings.operator == "Ann" and settings.phone == "+49 228 0"
    assert settings.media_source == "finance" and settings.destination == "reuse"
    assert settings.host == "ws-1" and settings.key_passphrase_file == "/etc/p"
    assert set(sources.values()) == {f"{home.config_path} [station]"}


def test_the_operator_comes_from_the_environment_first(tmp_path: Path) -> None:
    home = _home(tmp_path, '[station]\noperator = "Ann"\n')
    settings, sources = explained_settings(home, {"EXPUNGE_OPERATOR": "Bea"})
    assert (settings.operator, sources["operator"]) == ("Bea", "EXPUNGE_OPERATOR")
    assert sources["location"] == "default"


def test_without_a_file_the_login_name_and_host_name_apply(tmp_path: Path) -> None:
    settings, sources = explained_settings(Home(tmp_path), {})
    assert sources["operator"] == "login name" and sources["host"] == "host name"
    assert settings.operator and settings.host and settings.phone == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[station]\ncolour = "red"\n', "unknown setting(s) colour"),
        ("[station]\nphone = 5\n", "[station] phone must be a string"),
        ('[station]\ndestination = "shredder"\n', "reuse, destroyed, returned, storage"),
        ("[station\n", "not valid TOML"),
        ('station = "x"\n', "[station] must be a table"),
    ],
)
def test_a_bad_file_is_one_usage_error(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        load_settings(_home(tmp_path, text), {})
    assert words in caught.value.diagnostics()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, (True, "default")),
        ('[station]\noperator = "Ann"\n', (True, "default")),
        ("[log]\nsyslog = false\n", (False, "{config} [log]")),
        ("[log]\nsyslog = true\n", (True, "{config} [log]")),
    ],
)
def test_the_system_log_setting(
    tmp_path: Path, text: str | None, expected: tuple[bool, str]
) -> None:
    home = _home(tmp_path, text)
    load_settings(home, {})  # [log] is a known table beside [station]
    assert system_log(home) == (expected[0], expected[1].format(config=home.config_path))


@pytest.mark.parametrize("text", ['[log]\nsyslog = "no"\n', "[log]\nsocket = 1\n", "log = 1\n"])
def test_a_bad_log_setting_is_one_usage_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(UsageError, match=r"\[log\] takes one setting, syslog = true or false"):
        system_log(_home(tmp_path, text))
