"""API keys on the wire, through real `timeline` processes: named keys, headers that are not ASCII, keys
that cannot be used, and what `serve` prints about the key it keeps."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.timeline.api.served import raw
from tests.timeline.api.support import PROBLEM, PROBLEM_BASE, environment
from tests.timeline.api.test_server import server, timeline_command

KEYS = "alice:KEY-alice,desk:KEY-desk,KEY-bare"


async def test_named_and_bare_keys_all_write(tmp_path: Path) -> None:
    env = environment(tmp_path / "keys.db", TIMELINE_API_KEYS=KEYS)
    assert (await timeline_command("migrate", env=env)).returncode == 0
    async with server("api", env, tmp_path / "api.log") as api, httpx.AsyncClient(base_url=api.url) as http:
        for key in ("KEY-alice", "KEY-desk", "KEY-bare"):
            created = await http.post(
                "/api/v1/timelines", json={"title": key}, headers={"Authorization": f"Bearer {key}"}
            )
            assert created.status_code == 201, created.text
        named = await http.post(
            "/api/v1/timelines", json={"title": "x"}, headers={"Authorization": "Bearer alice:KEY-alice"}
        )
        assert named.status_code == 403  # the name is not part of the key


async def test_an_authorization_header_that_is_not_ascii_is_a_401_problem(tmp_path: Path) -> None:
    env = environment(tmp_path / "keys.db", TIMELINE_API_KEYS=KEYS)
    assert (await timeline_command("migrate", env=env)).returncode == 0
    async with server("api", env, tmp_path / "api.log") as api:
        port = int(api.url.rsplit(":", 1)[1])
        body = b'{"title": "x"}'
        # The header's bytes as they come off the wire: UTF-8 "é" and a lone latin-1 byte.
        for token in ("KEY-alic\xc3\xa9", "\xe9"):
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            for method, target, sent in (
                ("POST", "/api/v1/timelines", body),
                ("GET", "/api/v1/timelines/none/events/ev_none", b""),
                ("GET", "/api/v1/timelines/none/audit", b""),
                ("PATCH", "/api/v1/timelines/none/events/ev_none", b'{"hidden": true}'),
            ):
                answer = raw(port, method, target, headers, sent)
                assert answer.status == 401, (method, target, answer)
                assert answer.header("content-type") == PROBLEM
                assert (PROBLEM_BASE + "unauthorized").encode() in answer.body
                assert b"ASCII" in answer.body
    assert "Traceback" not in api.output()


async def test_a_configured_key_that_is_not_ascii_stops_the_start(tmp_path: Path) -> None:
    env = environment(tmp_path / "keys.db", TIMELINE_API_KEYS="alice:KEY-alice,desk:clé")
    for command in ("api", "serve"):
        started = await timeline_command(command, "--port", "1", env=env)
        stderr = started.stderr.decode()
        assert started.returncode == 1, stderr
        assert "TIMELINE_API_KEYS" in stderr and "entry 2 (desk)" in stderr and "ASCII" in stderr
        assert "Traceback" not in stderr and "KEY-alice" not in stderr


async def test_serve_prints_its_key_only_when_it_makes_it_and_warns_of_a_loose_file(tmp_path: Path) -> None:
    env = environment(tmp_path / "serve.db")
    key_file = tmp_path / "serve.key"
    async with server("serve", env, tmp_path / "first.log") as first:
        key = key_file.read_text().strip()
        assert key in first.output()

    async with server("serve", env, tmp_path / "second.log") as second:
        assert key not in second.output()
        assert f"Using the API key saved in {key_file}" in second.output()
        assert "warning" not in second.output()

    os.chmod(key_file, 0o644)
    async with server("serve", env, tmp_path / "third.log") as third:
        assert key not in third.output()
        assert f"warning: {key_file} may be read by other users (mode 0644" in third.output()
        assert f"chmod 600 {key_file}" in third.output()
