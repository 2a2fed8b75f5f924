"""The deployment files say what the platforms need: Docker, Railway, Procfile.

Most machines running the tests have no container engine, so here the image is checked
without being built: its instructions are parsed for the essentials; its health check
command is run against a real server; and its install recipe (``uv sync --frozen
--no-dev --no-editable``) is replayed into a fresh environment whose ``vivavoce serve``
must come up from another directory, honouring ``PORT``. A built image is run by
``test_image.py`` (when ``VIVAVOCE_IMAGE`` names one).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from tests.deploy.processes import base_env, free_port, serve_process
from vivavoce.cli import app as cli_app
from vivavoce.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    pairs = []
    for line in logical:
        word, _, rest = line.partition(" ")
        pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def healthcheck_command() -> list[str]:
    [check] = [args for word, args in final_stage() if word == "HEALTHCHECK"]
    _, _, command = check.partition(" CMD ")
    parsed: list[str] = json.loads(command)
    return parsed


def serve_args(command: str, *, init: bool = False) -> list[str]:
    """The arguments after ``vivavoce serve`` in a start command (shell-style); ``init``:
    the command must start with the image's init, ``tini --``."""
    words = shlex.split(command)
    if init:
        assert words[:2] == ["tini", "--"], command
        words = words[2:]
    assert words[:2] == ["vivavoce", "serve"], command
    return words[2:]


def test_image_is_multi_stage_built_with_uv_from_the_lock() -> None:
    instructions = dockerfile_instructions()
    stages = [args for word, args in instructions if word == "FROM"]
    assert len(stages) >= 3  # uv binary, build, runtime
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "uv sync --frozen --no-dev --no-install-project" in runs
    assert "uv sync --frozen --no-dev --no-editable" in runs
    # The runtime stage takes the environment only: no source tree, no uv.
    copies = [args for word, args in final_stage() if word == "COPY"]
    assert copies == ["--from=build /app/.venv /app/.venv"]


def test_image_runs_as_an_unprivileged_user() -> None:
    users = [args for word, args in final_stage() if word == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Created in the same stage, with a fixed uid above the system range.
    runs = " ".join(args for word, args in final_stage() if word == "RUN")
    assert re.search(rf"useradd .*--uid (\d+) .*{user}", runs)


def test_image_listens_on_port_from_the_environment() -> None:
    stage = final_stage()
    env = " ".join(args for word, args in stage if word == "ENV")
    assert "VIVAVOCE_HOST=0.0.0.0" in env and "PORT=8000" in env
    # Listening on every address, the image is production unless told otherwise.
    assert "VIVAVOCE_ENV=production" in env
    assert ("EXPOSE", "8000") in stage
    [cmd] = [args for word, args in stage if word == "CMD"]
    command = json.loads(cmd)
    assert command == ["vivavoce", "serve"]  # no --port: PORT decides


def test_image_runs_the_service_under_an_init() -> None:
    """PID 1 is tini (installed in the runtime stage): signals reach the server and
    orphaned parser processes are reaped."""
    stage = final_stage()
    [entrypoint] = [args for word, args in stage if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["tini", "--"]
    runs = " ".join(args for word, args in stage if word == "RUN")
    assert re.search(r"apt-get install -y --no-install-recommends [^&]*\btini\b", runs)
    assert "rm -rf /var/lib/apt/lists/*" in runs


def test_image_health_check_probes_readyz_on_port() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "/readyz" in command[2] and "PORT" in command[2]
    [check] = [args for word, args in final_stage() if word == "HEALTHCHECK"]
    assert "--start-period=" in check and "--timeout=" in check


def test_dockerignore_keeps_secrets_and_state_out_but_the_sources_in() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".env.*", ".git", ".venv", ".vivavoce", "*.db"} <= patterns
    for needed in ("src", "pyproject.toml", "uv.lock", "README.md"):
        assert needed not in patterns


def test_railway_config() -> None:
    config = json.loads((ROOT / "railway.json").read_text(encoding="utf-8"))
    assert config["build"]["builder"] == "DOCKERFILE"
    assert (ROOT / config["build"]["dockerfilePath"]).is_file()
    deploy = config["deploy"]
    assert deploy["healthcheckPath"] == "/readyz"
    assert deploy["restartPolicyType"] in ("ON_FAILURE", "ALWAYS")
    assert isinstance(deploy["restartPolicyMaxRetries"], int)
    # Railway's parser rejects numbers given as strings here.
    assert isinstance(deploy["drainingSeconds"], int) and deploy["drainingSeconds"] > 0
    # Railway's start command replaces the image's ENTRYPOINT, so it names tini itself.
    args = serve_args(deploy["startCommand"], init=True)
    # Railway sets PORT and the image sets VIVAVOCE_HOST=0.0.0.0; vivavoce reads both, so
    # an operator can still change them with a variable (e.g. VIVAVOCE_HOST=:: for
    # Railway's IPv6 private network).
    assert "--port" not in args and "--host" not in args


def test_procfile_web_process_uses_port() -> None:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    [web] = [line for line in lines if line.startswith("web:")]
    command = web.removeprefix("web:").strip()
    assert "$PORT" in command or "${PORT" in command
    # Production unless the platform's environment says otherwise (issue 14).
    prefix, _, command = command.partition(" vivavoce ")
    assert prefix == "VIVAVOCE_ENV=${VIVAVOCE_ENV:-production}"
    command = "vivavoce " + command
    args = serve_args(command.replace("${PORT:-8000}", "8000").replace("$PORT", "8000"))
    assert args[args.index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--host", "0.0.0.0"],
        ["--host", "0.0.0.0", "--port", "8000"],
    ],
)
def test_start_commands_parse_with_the_real_cli(args: list[str]) -> None:
    serve = get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    context = serve.make_context("serve", list(args))
    assert set(context.params) == {"host", "port", "workers"}
    assert context.params["workers"] is None  # unset: the setting (production: the CPUs) decides


def test_port_variable_is_read_by_the_settings() -> None:
    settings = load_settings({"PORT": "4321", "VIVAVOCE_HOST": "0.0.0.0"}, env_file=None)
    assert settings.port == 4321 and settings.host == "0.0.0.0"


@pytest.mark.slow
def test_image_install_recipe_gives_a_working_service(tmp_path: Path) -> None:
    """Replay the Dockerfile's build stage without Docker, then run its entry point."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    venv = tmp_path / "venv"
    env = base_env(tmp_path, UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON=sys.executable)
    # --offline: the dependencies come from uv's cache (filled by the test run itself).
    sync = subprocess.run(
        [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--offline", "--quiet"],
        cwd=context, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if sync.returncode != 0 and any(
        hint in sync.stderr.lower()
        for hint in ("network connectivity is disabled", "offline", "not found in the cache")
    ):
        pytest.skip(f"uv's cache lacks a dependency: {sync.stderr.strip()[:300]}")
    assert sync.returncode == 0, sync.stderr
    # Nothing from the source tree is needed any more (the runtime stage has none).
    shutil.rmtree(context)
    entry = venv / "bin" / "vivavoce"
    assert entry.is_file()

    port = free_port()
    run_env = base_env(tmp_path, PATH=f"{venv / 'bin'}:/usr/bin:/bin", PORT=str(port))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    with serve_process(run_env, workdir, port=port, name="image", command=[str(entry), "serve"]) as server:
        import httpx

        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        # Templates, static files and migrations ship inside the installed package.
        assert httpx.get(f"{server.url}/", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/static/app.css", timeout=10).status_code == 200
        # The image's own health check passes against it …
        probe = subprocess.run(
            [str(venv / "bin" / "python"), *healthcheck_command()[1:]],
            env=run_env, capture_output=True, text=True, timeout=30, check=False,
        )
        assert probe.returncode == 0, probe.stderr
    # … and fails once the service is gone.
    probe = subprocess.run(
        [str(venv / "bin" / "python"), *healthcheck_command()[1:]],
        env=run_env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert probe.returncode != 0
