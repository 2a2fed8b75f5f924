"""The built container image, run as a platform runs it.

These tests need a built image and a container engine, so they run only when
``VIVAVOCE_IMAGE`` names one (see docs/deploy.md, "Checking an image")::

    docker build -t vivavoce:check .
    VIVAVOCE_IMAGE=vivavoce:check uv run pytest tests/deploy/test_image.py

``VIVAVOCE_CONTAINER`` is the engine's command with its global options (default
``docker``; e.g. ``podman --storage-driver vfs``) and ``VIVAVOCE_CONTAINER_RUN_ARGS``
extra options for ``run`` (e.g. a runtime or ulimits a sandbox needs). Containers use
the host's network, so the image reaches the test's fake OpenAI server and PostgreSQL on
127.0.0.1 and the test reaches the container on the port it gives it through ``PORT``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.processes import free_port
from tests.fixtures.database import _postgres_database
from tests.fixtures.fake_openai import RunningFake, running_fake
from tests.relay.voice_client import voice_client
from vivavoce.keys import fingerprint
from vivavoce.testing import scenario_key

IMAGE = os.environ.get("VIVAVOCE_IMAGE", "")
ENGINE = shlex.split(os.environ.get("VIVAVOCE_CONTAINER", "docker"))
RUN_ARGS = shlex.split(os.environ.get("VIVAVOCE_CONTAINER_RUN_ARGS", ""))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not IMAGE, reason="set VIVAVOCE_IMAGE to a built image to check it (docs/deploy.md)"
    ),
]

ADMIN_TOKEN = "image-check-admin-token-0123456789abcdef"
SECRET_KEY = "image-check-secret-key-0123456789abcdef012345"
ORIGIN = "https://interviews.example.com"
START_DEADLINE_S = 90.0
# The image is production by default; trying it out needs both of these (docs/deploy.md).
INSECURE_DEVELOPMENT = {"VIVAVOCE_ENV": "development", "VIVAVOCE_ALLOW_INSECURE": "1"}


def engine(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ENGINE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Container:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        done = engine("logs", self.name)
        return done.stdout + done.stderr

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return engine("exec", self.name, *command)

    def running(self) -> bool:
        done = engine("inspect", "--format", "{{.State.Running}}", self.name)
        return done.stdout.strip() == "true"


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


@contextlib.contextmanager
def container(env: dict[str, str], *, options: tuple[str, ...] = ()) -> Iterator[Container]:
    """Start the image detached on a free port (through ``PORT``) and yield once
    ``/healthz`` answers; remove it afterwards."""
    port = free_port()
    name = f"vivavoce-check-{uuid.uuid4().hex[:10]}"
    started = engine(
        "run", "-d", "--name", name, "--network", "host", *RUN_ARGS, *options,
        *_env_args({"PORT": str(port), **env}), IMAGE,
    )
    assert started.returncode == 0, started.stderr
    box = Container(name, port)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{box.url}/healthz", timeout=2).status_code == 200:
                    break
            if not box.running():
                pytest.fail(f"the container exited:\n{box.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the container did not come up:\n{box.logs()}")
            time.sleep(0.2)
        yield box
    finally:
        engine("rm", "-f", name)


@pytest.fixture(scope="module")
def image_config() -> dict[str, Any]:
    done = engine("image", "inspect", IMAGE)
    assert done.returncode == 0, done.stderr
    inspected: list[dict[str, Any]] = json.loads(done.stdout)
    return inspected[0]


def test_image_runs_unprivileged_and_checks_readyz(image_config: dict[str, Any]) -> None:
    config = image_config["Config"]
    assert config["User"] == "vivavoce:vivavoce"
    assert config["Entrypoint"] == ["tini", "--"]
    assert config["Cmd"] == ["vivavoce", "serve"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert config["Env"] and "PORT=8000" in config["Env"]
    health = config.get("Healthcheck") or image_config.get("Healthcheck")
    assert health is not None, "no HEALTHCHECK (podman keeps it only with --format docker)"
    assert health["Test"][0] == "CMD" and "/readyz" in " ".join(health["Test"])
    # "Small": a slim Python base (about 130 MB; the local stand-in 162 MB) plus the locked
    # runtime dependencies (about 320 MB, a third of it PyAV's FFmpeg for WebRTC), nothing
    # else: no compiler, no uv, no source tree, no apt caches.
    assert image_config["Size"] < 550 * 1000 * 1000, image_config["Size"]


def test_production_is_the_default(image_config: dict[str, Any]) -> None:
    """No configuration at all: the image is production and refuses to start, naming what
    is missing (issue 14: a container started with nothing is not an open door)."""
    assert "VIVAVOCE_ENV=production" in image_config["Config"]["Env"]
    done = engine(
        "run", "--rm", "--network", "host", *RUN_ARGS,
        *_env_args({"PORT": str(free_port())}), IMAGE, timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    for cause in ("key_missing", "secret_key_missing", "admin_token_missing", "origins_missing"):
        assert cause in output, output
    assert "Traceback" not in output


def test_development_on_every_address_needs_the_insecure_opt_in() -> None:
    done = engine(
        "run", "--rm", "--network", "host", *RUN_ARGS,
        *_env_args({"PORT": str(free_port()), "VIVAVOCE_ENV": "development"}), IMAGE,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "VIVAVOCE_ALLOW_INSECURE" in output and "Traceback" not in output


def test_development_defaults(image_config: dict[str, Any]) -> None:
    """Development asked for explicitly: the simulator on SQLite in /data, as an
    unprivileged user."""
    with container(INSECURE_DEVELOPMENT) as box:
        ready = httpx.get(f"{box.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        # The image's own HEALTHCHECK command, run where the engine runs it.
        health = image_config["Config"].get("Healthcheck") or image_config["Healthcheck"]
        checked = box.exec(*health["Test"][1:])
        assert checked.returncode == 0, checked.stderr
        assert box.exec("id", "-u").stdout.strip() == "10001"
        # tini is PID 1 and the server its child (signals forwarded, orphans reaped).
        assert box.exec("cat", "/proc/1/comm").stdout.strip() == "tini"
        children = box.exec("cat", "/proc/1/task/1/children").stdout.split()
        assert len(children) == 1
        server = box.exec("cat", f"/proc/{children[0]}/cmdline").stdout
        assert "vivavoce" in server and "serve" in server
        assert "vivavoce.db" in box.exec("ls", "/data").stdout
        # The code and its environment are not writable by the service's user.
        assert box.exec("touch", "/app/.venv/x").returncode != 0
        banner = box.logs()
        assert "simulator" in banner.lower()
        assert "Traceback" not in banner


@pytest.mark.parametrize(
    ("env", "cause"),
    [
        ({}, "key_missing"),
        ({"OPENAI_API_KEY": "sk-your-key-here"}, "key_malformed"),
    ],
)
def test_production_refuses_with_the_cause(env: dict[str, str], cause: str) -> None:
    done = engine(
        "run", "--rm", "--network", "host", *RUN_ARGS,
        *_env_args({"VIVAVOCE_ENV": "production", "PORT": str(free_port()), **env}),
        IMAGE, timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert cause in output, output
    assert "Traceback" not in output


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    yield from running_fake()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in _postgres_database():
        yield url


async def test_production_interview_on_postgres(fake: RunningFake, postgres_url: str) -> None:
    """Production settings, PostgreSQL, the fake OpenAI: an operator creates an
    interview, the candidate holds it over /voice, the doctor passes inside the image."""
    key = scenario_key("ok")
    env = {
        "VIVAVOCE_ENV": "production",
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": fake.base_url,
        "DATABASE_URL": postgres_url.replace("postgresql+asyncpg://", "postgresql://"),
        "VIVAVOCE_ADMIN_TOKEN": ADMIN_TOKEN,
        "VIVAVOCE_SECRET_KEY": SECRET_KEY,
        "VIVAVOCE_ALLOWED_ORIGINS": ORIGIN,
    }
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with container(env) as box:
        async with httpx.AsyncClient(timeout=30) as http:
            ready = await http.get(f"{box.url}/readyz")
            assert ready.status_code == 200, ready.text
            created = await http.post(
                f"{box.url}/api/interviews",
                json={"candidate": {"name": "Ada Lovelace", "major": "Mathematics"}},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            interview = created.json()

        ws_url = box.url.replace("http://", "ws://") + f"/voice?token={interview['token']}"
        async with voice_client(ws_url, origin=ORIGIN) as client:
            started = await client.start({})
            assert started["interview_id"] == interview["id"]
            await client.until("ai_transcription")
            await client.say()
            await client.until("student_transcription")
            await client.send_json({"type": "end_interview"})
            await client.until("interview_ended")
            await client.until_closed()
        assert [s.key_masked for s in fake.fake.sessions], "the relay never reached the fake"

        async with httpx.AsyncClient(timeout=30) as http:
            stored = (
                await http.get(f"{box.url}/api/interviews/{interview['id']}", headers=admin)
            ).json()
        assert stored["status"] == "ended", stored

        doctor = box.exec("vivavoce", "doctor", "--json")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert json.loads(doctor.stdout)["ok"] is True

        logs = box.logs()
        assert key not in logs
        lines = [line for line in logs.splitlines() if line.startswith("{")]
        assert lines, logs
        assert all(isinstance(json.loads(line), dict) for line in lines)
        assert any(json.loads(line).get("interview_id") == interview["id"] for line in lines)


def test_sighup_through_tini_rotates_a_mounted_key(fake: RunningFake, tmp_path: Path) -> None:
    """The key file is rewritten in place and the container is sent SIGHUP, as
    docs/deploy.md tells operators: tini passes it on and new interviews use the new key."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o755)
    key_file = secrets / "openai_api_key"
    old, new = scenario_key("ok"), scenario_key("ok", "rotated")
    key_file.write_text(old + "\n", encoding="utf-8")
    key_file.chmod(0o644)  # readable by the image's uid 10001
    env = {
        "OPENAI_API_KEY_FILE": "/run/secrets/openai_api_key",
        "OPENAI_BASE_URL": fake.base_url,
        "VIVAVOCE_ADMIN_TOKEN": ADMIN_TOKEN,
        **INSECURE_DEVELOPMENT,
    }
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    mount = ("-v", f"{secrets}:/run/secrets:ro")
    with container(env, options=mount) as box:
        state = httpx.get(f"{box.url}/api/admin/reload", headers=admin, timeout=10).json()
        assert state["key"]["fingerprint"] == fingerprint(old)
        key_file.write_text(new + "\n", encoding="utf-8")
        sent = engine("kill", "--signal", "HUP", box.name)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 30
        while (last := state["last_reload"]) is None and time.monotonic() < deadline:
            time.sleep(0.2)
            state = httpx.get(f"{box.url}/api/admin/reload", headers=admin, timeout=10).json()
        assert last is not None, box.logs()
        assert last["trigger"] == "sighup", last
        assert last["applied"] and last["changed"], last
        assert state["key"]["fingerprint"] == fingerprint(new)
        assert box.running()  # SIGHUP did not stop it
        logs = box.logs()
        assert old not in logs and new not in logs
