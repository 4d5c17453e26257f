"""infra/ carries the pipelines to servers: its files parse, and every command, path and
endpoint they name exists in this repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"


def infra_files(pattern: str) -> list[Path]:
    """The project's files under infra/ (not the Kubeflow compiler's installed packages)."""
    return sorted(
        path
        for path in INFRA.rglob(pattern)
        if path.is_file() and ".venv" not in path.relative_to(INFRA).parts
    )


YAML_FILES = [*infra_files("*.yaml"), *infra_files("*.yml")]
TEXT_FILES = [path for path in infra_files("*") if path.suffix not in {".json", ".lock"}]


def documents(path: Path) -> list:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def cli_commands() -> set[str]:
    from pipelines.cli import app

    return {command.name or command.callback.__name__ for command in app.registered_commands}


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: str(path.relative_to(INFRA)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert documents(path)


@pytest.mark.parametrize(
    "path", infra_files("*.json"), ids=lambda path: str(path.relative_to(INFRA))
)
def test_every_json_file_parses(path: Path) -> None:
    assert json.loads(path.read_text())


# "seqpipe" followed by a word, where it is a program, not a namespace or an image name.
COMMAND = re.compile(r"(?<!-n )(?<!--namespace )(?<![\w./:-])seqpipe ([a-z][\w-]*)")


def command_lines(path: Path) -> list[str]:
    """Where a file's commands are: code (fenced or inline) in Markdown, non-comment lines
    elsewhere."""
    lines = path.read_text().splitlines()
    if path.suffix != ".md":
        return [line for line in lines if not line.strip().startswith("#")]
    found, fenced = [], False
    for line in lines:
        if line.strip().startswith("```"):
            fenced = not fenced
        elif fenced:
            found.append(re.sub(r"\s#.*", "", line))  # a shell comment is prose
        else:
            found += re.findall(r"`([^`]+)`", line)
    return found


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda path: str(path.relative_to(INFRA)))
def test_every_seqpipe_command_named_in_infra_exists(path: Path) -> None:
    named = {match for line in command_lines(path) for match in COMMAND.findall(line)}
    assert named <= cli_commands(), f"{path.name}: no such seqpipe command {named - cli_commands()}"


def test_infra_runs_and_serves_through_the_cli() -> None:
    named = {
        match
        for path in TEXT_FILES
        for line in command_lines(path)
        for match in COMMAND.findall(line)
    }
    assert {"run", "serve", "schedule"} <= named


def test_every_path_the_image_copies_exists() -> None:
    dockerfile = INFRA / "docker" / "Dockerfile"
    sources = [
        part
        for line in dockerfile.read_text().splitlines()
        if line.startswith("COPY ")
        for part in line.split()[1:-1]
        if not part.startswith("--")
    ]
    assert sources
    assert [source for source in sources if not (ROOT / source).exists()] == []


def test_compose_builds_from_files_that_exist_and_serves_a_ready_model() -> None:
    compose = documents(INFRA / "compose" / "docker-compose.yml")[0]
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            context = (INFRA / "compose" / build["context"]).resolve()
            assert (context / build["dockerfile"]).exists(), name
    server = compose["services"]["model-server"]
    assert "seqpipe serve" in " ".join(server["command"])
    assert "/ready" in " ".join(server["healthcheck"]["test"])


def test_kustomization_lists_files_that_exist() -> None:
    kustomization = documents(INFRA / "k8s" / "kustomization.yaml")[0]
    for resource in kustomization["resources"]:
        assert (INFRA / "k8s" / resource).exists(), resource
    for generator in kustomization.get("configMapGenerator", []):
        for entry in generator["files"]:
            assert (INFRA / "k8s" / entry.split("=")[-1]).exists(), entry


def test_the_model_server_probes_are_endpoints_of_the_server() -> None:
    from pipelines.alias_follower import AliasFollower
    from pipelines.model_server import create_app

    routes = {route.path for route in create_app(AliasFollower("any", "champion")).routes}
    (deployment,) = [
        document
        for document in documents(INFRA / "k8s" / "model-server.yaml")
        if document["kind"] == "Deployment"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probes = [container[key]["httpGet"]["path"] for key in container if key.endswith("Probe")]
    assert "/ready" in probes and set(probes) <= routes
    assert "seqpipe serve" in " ".join(container["args"])
