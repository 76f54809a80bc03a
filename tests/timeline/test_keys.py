"""Named API keys: parsing TIMELINE_API_KEYS, matching a request's key as bytes, the key file's mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from timeline.keys import ApiKey, load_or_create_key, loose_mode, match_key, parse_api_keys
from timeline.settings import Settings, explain


def test_keys_are_named_or_named_by_their_position() -> None:
    keys = parse_api_keys(" alice:KEY-1 , desk:KEY_2,bare-key,, ")
    assert keys == (ApiKey("alice", b"KEY-1"), ApiKey("desk", b"KEY_2"), ApiKey("key3", b"bare-key"))
    assert parse_api_keys("") == ()
    assert "KEY-1" not in repr(keys[0])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("alice:clé", "entry 1 (alice): the key has characters outside printable ASCII"),
        ("ok,клю́ч", "entry 2 (key2): the key has characters outside printable ASCII"),
        ("alice:", "entry 1 (alice): the key is empty"),
        ("alice:two words", "outside printable ASCII (or spaces)"),
        ("bad name:KEY", "entry 1: the name 'bad name' must be"),
        ("alice:A,alice:B", "repeated: alice"),
        ("alice:A,desk:A", "the same key is listed twice"),
    ],
)
def test_unusable_keys_are_refused_saying_which_and_why(text: str, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_api_keys(text)
    assert says in str(refused.value)


def test_settings_refuse_a_non_ascii_key_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(api_keys="desk:clé")
    message = explain(refused.value)
    assert message.startswith("TIMELINE_API_KEYS: entry 1 (desk)"), message
    assert Settings(api_keys="desk:KEY").named_api_keys == (ApiKey("desk", b"KEY"),)


def test_a_token_matches_as_bytes_and_only_a_whole_key() -> None:
    keys = parse_api_keys("alice:KEY1,desk:KEY2")
    assert match_key(b"KEY2", keys) == ApiKey("desk", b"KEY2")
    assert match_key(b"KEY", keys) is None
    assert match_key(b"KEY1 ", keys) is None
    assert match_key("clé".encode(), keys) is None


def test_the_key_file_is_private_and_a_loose_one_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "timeline.key"
    key, created = load_or_create_key(path)
    assert created and loose_mode(path) is None
    assert load_or_create_key(path) == (key, False)
    os.chmod(path, 0o644)
    assert loose_mode(path) == 0o644
    os.chmod(path, 0o620)
    assert loose_mode(path) == 0o620
