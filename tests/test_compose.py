"""docker-compose.yml, Dockerfile and .env.example, checked structurally (no docker engine runs here):
the services and how they wait for each other, healthchecks, replicas, and that every `timeline …`
command and every TIMELINE_* variable they use exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from timeline.cli import main
from timeline.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
TIMELINE_SERVICES = ("migrate", "api", "worker")
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")  # ${NAME}, ${NAME:-default}, ${NAME:?message}


def _settings_variable(name: str) -> bool:
    return name.removeprefix("TIMELINE_").lower() in Settings.model_fields


def _used_variables() -> set[str]:
    """Names the compose file interpolates or sets in a container's environment."""
    text = (ROOT / "docker-compose.yml").read_text()
    environments = [service.get("environment", {}) for service in SERVICES.values()]
    return set(VARIABLE.findall(text)) | {name for env in environments for name in env}


def test_the_topology_has_postgres_a_migration_apis_and_workers() -> None:
    assert set(SERVICES) == {"postgres", *TIMELINE_SERVICES}
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["api"]["deploy"]["replicas"] == 2
    assert SERVICES["worker"]["deploy"]["replicas"] == 2
    assert SERVICES["migrate"]["restart"] == "no"  # one-shot: it must end, not restart
    assert "deploy" not in SERVICES["migrate"]


def test_postgres_keeps_its_data_in_a_volume_and_reports_readiness() -> None:
    postgres = SERVICES["postgres"]
    volume = postgres["volumes"][0].split(":")
    assert volume[0] in COMPOSE["volumes"] and volume[1] == "/var/lib/postgresql/data"
    assert postgres["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pg_isready" in postgres["healthcheck"]["test"][1]


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("migrate", {"postgres": "service_healthy"}),
        ("api", {"postgres": "service_healthy", "migrate": "service_completed_successfully"}),
        ("worker", {"postgres": "service_healthy", "migrate": "service_completed_successfully"}),
    ],
)
def test_services_start_once_what_they_need_is_ready(service: str, expected: dict[str, str]) -> None:
    depends_on = SERVICES[service]["depends_on"]
    assert {name: condition["condition"] for name, condition in depends_on.items()} == expected


def test_the_api_is_healthy_once_ready_checked_with_what_the_slim_image_has() -> None:
    api = SERVICES["api"]
    kind, program, flag, code = api["healthcheck"]["test"]
    assert (kind, program, flag) == ("CMD", "python", "-c")
    compile(code, "healthcheck", "exec")  # valid Python
    port = api["command"][api["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/readyz" in code
    assert api["command"][api["command"].index("--host") + 1] == "0.0.0.0"
    assert api["ports"][0].endswith(f":{port}")


@pytest.mark.parametrize("service", TIMELINE_SERVICES)
def test_every_command_is_one_the_cli_accepts(service: str) -> None:
    """The command parses as the CLI would parse it: the command exists and so do its options."""
    name, *args = SERVICES[service]["command"]
    command = main.commands.get(name)
    assert command is not None, f"`timeline {name}` does not exist: {sorted(main.commands)}"
    command.make_context(name, list(args))  # raises click.UsageError on an unknown option


def test_make_context_catches_unknown_options() -> None:
    with pytest.raises(click.UsageError):
        main.commands["api"].make_context("api", ["--workers", "2"])


@pytest.mark.parametrize("service", TIMELINE_SERVICES)
def test_timeline_services_use_the_image_on_postgres_with_the_postgres_hub(service: str) -> None:
    config = SERVICES[service]
    assert config["build"] == "." and config["image"] == SERVICES["api"]["image"]
    environment = config["environment"]
    assert environment["TIMELINE_HUB"] == "postgres"
    assert environment["TIMELINE_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in environment["TIMELINE_DATABASE_URL"]


def test_every_timeline_variable_used_is_a_setting() -> None:
    used = {name for name in _used_variables() if name.startswith("TIMELINE_")}
    assert len(used) > 5
    assert {name for name in used if not _settings_variable(name)} == set()


def test_env_example_sets_what_compose_requires_and_only_real_settings() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    example = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text()))
    assert required and required <= example
    interpolated = {name for name in _used_variables() if name.isupper()}
    assert example <= interpolated, "every variable of .env.example must reach compose"
    assert {n for n in example if n.startswith("TIMELINE_") and not _settings_variable(n)} == set()


def _final_stage(dockerfile: str) -> list[str]:
    lines = [line.strip() for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def test_the_image_is_slim_unprivileged_and_has_no_build_tools() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in stages[0]
    final = _final_stage(dockerfile)
    assert final[0] == "FROM python:3.11-slim"
    assert not any(tool in line for line in final for tool in ("build-essential", "gcc", "apt-get install"))
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["timeline"]' in final


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {".git", ".venv", ".env", "*.db", "tests", "timeline.key"} <= ignored
