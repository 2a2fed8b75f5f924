"""Real-browser fixtures: Debian's Chromium driven by Playwright, a fake microphone fed
from a WAV file, and the app served on a real socket with the fake OpenAI server in
OpenAI's place.

The browser is skipped when /usr/bin/chromium is missing, unless VIVAVOCE_REQUIRE_BROWSER=1
(CI), where a missing browser is a failure. ``playwright install`` is never used: its
download is blocked here; ``executable_path`` points at the system Chromium.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.audio_files import write_speech_wav
from tests.browser.netns import NetNamespace, open_namespace
from tests.fixtures.fake_openai import RunningFake, running_fake
from tests.fixtures.settings import MakeSettings
from vivavoce.runtime import RuntimeOptions
from vivavoce.testing import BackgroundServer, serve_in_background
from vivavoce.testing.fake_openai import FakeConfig
from vivavoce.testing.scenarios import scenario_key
from vivavoce.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
ADMIN_TOKEN = "browser-admin-token-0123456789abcdef"


@pytest.fixture(scope="session")
def mic_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_speech_wav(tmp_path_factory.mktemp("mic") / "speech.wav")


def chromium_args(mic_wav: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic_wav}",
        "--autoplay-policy=no-user-gesture-required",
        # WebRTC (the room's call to the fake): gather 127.0.0.1 candidates,
        # which Chromium leaves out by default (shared/BROWSER-TESTS.md).
        "--allow-loopback-in-peer-connection",
        "--disable-background-networking",
        "--disable-gpu",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        # Resolve nothing but loopback: Chromium looks up its update and account
        # hosts even with background networking off (shared/BROWSER-TESTS.md).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ]


def skip_or_fail(message: str) -> None:
    if os.environ.get("VIVAVOCE_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser(mic_wav: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=chromium_args(mic_wav)
        )
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught exceptions of one page. Expected ones (a test that
    provokes a 401, say) are declared with ``allow`` before they happen."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@dataclass
class BrowserPage:
    page: Any
    console: ConsoleWatch

    def snap(self, name: str) -> Path:
        """Screenshot the whole page into test-artifacts/browser/<name>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., BrowserPage]]:
    """open_page(viewport=(w, h)) -> a fresh context and page watched for console errors.
    The test fails at teardown if any unexpected console error was logged."""
    yield from page_opener(browser)


def page_opener(browser: Any) -> Iterator[Callable[..., BrowserPage]]:
    contexts: list[Any] = []
    pages: list[BrowserPage] = []

    def make(viewport: tuple[int, int] = (1280, 900)) -> BrowserPage:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch = ConsoleWatch()
        page.on(
            "console",
            lambda msg: watch.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
        handle = BrowserPage(page, watch)
        pages.append(handle)
        return handle

    yield make
    problems = [e for p in pages for e in p.console.unexpected()]
    for context in contexts:
        context.close()
    assert problems == [], "console errors in the browser"


CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


# axe-core from the axe-playwright-python package (a dev dependency). Its own runner
# evaluates bare expressions, which the pages' CSP (no eval) refuses; a function
# declaration is run by the DevTools protocol, which the CSP does not govern.
AXE_INJECT = "() => {\n" + _axe_source() + "\n}"
AXE_RUN = """
async (impacts) => {
  const results = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    resultTypes: ["violations"],
  });
  return results.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
}
"""


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """axe-core's WCAG 2.1 A/AA and best-practice violations of these impacts on the page
    as it is now (run it in each state worth checking: a dialog open, an error shown)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_INJECT)
    found: list[Any] = page.evaluate(AXE_RUN, list(impacts))
    return found


def low_contrast(page: Any) -> list[dict[str, Any]]:
    """Visible text on the page below WCAG AA contrast (4.5:1, large text 3:1)."""
    found: list[dict[str, Any]] = page.evaluate(CONTRAST_JS)
    return found


@dataclass
class LiveApp:
    """The app on a real socket, with the fake OpenAI server behind it."""

    server: BackgroundServer
    fake: RunningFake
    key: str
    app: Any

    @property
    def url(self) -> str:
        return self.server.http_url

    def api(self) -> httpx.Client:
        """An admin HTTP client for setting up a test."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )

    def create_interview(
        self, settings: dict[str, Any] | None = None, **candidate: Any
    ) -> dict[str, Any]:
        body = {"name": "Ada Lovelace", "major": "Mathematics", "year": "Final year"}
        body.update(candidate)
        payload: dict[str, Any] = {"candidate": body}
        if settings is not None:
            payload["settings"] = settings
        with self.api() as client:
            response = client.post("/api/interviews", json=payload)
            response.raise_for_status()
            created: dict[str, Any] = response.json()
            return created


@pytest.fixture
def live_app(make_settings: MakeSettings) -> Iterator[Callable[..., LiveApp]]:
    """live_app(scenario="ok", fake_config=None, options=None, **ENV) -> LiveApp (stopped
    at teardown). ``options`` become ``runtime.options`` before start-up."""
    with contextlib.ExitStack() as stack:

        def start(
            scenario: str = "ok",
            fake_config: FakeConfig | None = None,
            options: RuntimeOptions | None = None,
            **environ: str,
        ) -> LiveApp:
            fake_gen = running_fake(fake_config)
            fake = next(fake_gen)
            stack.callback(fake_gen.close)
            key = scenario_key(scenario)
            env = {
                "OPENAI_API_KEY": key,
                "OPENAI_BASE_URL": fake.base_url,
                "VIVAVOCE_SIMULATOR": "false",
                "VIVAVOCE_ADMIN_TOKEN": ADMIN_TOKEN,
                # These tests are the relay's; the WebRTC room's run in a network
                # namespace (test_room_webrtc*.py, the netns_* fixtures below).
                "VIVAVOCE_TRANSPORT": "relay",
                **environ,
            }
            app = create_app(make_settings(**env))
            if options is not None:
                app.state.runtime.options = options
            server = stack.enter_context(serve_in_background(app))
            return LiveApp(server=server, fake=fake, key=key, app=app)

        yield start


@pytest.fixture(scope="session")
def netns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetNamespace]:
    """A network namespace with only loopback (tests/browser/netns.py), for WebRTC."""
    made = open_namespace(tmp_path_factory.mktemp("netns"))
    if isinstance(made, str):
        skip_or_fail(made)
        return
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="session")
def netns_browser(browser: Any, netns: NetNamespace, mic_wav: Path) -> Iterator[Any]:
    """Chromium inside the namespace (the same Playwright as ``browser``)."""
    instance = browser.browser_type.launch(
        executable_path=str(netns.chromium(CHROMIUM)), headless=True, args=chromium_args(mic_wav)
    )
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def netns_open_page(netns_browser: Any) -> Iterator[Callable[..., BrowserPage]]:
    """open_page for the namespace's Chromium."""
    yield from page_opener(netns_browser)


@pytest.fixture
def netns_live_app(live_app: Callable[..., LiveApp], netns: NetNamespace) -> Callable[..., LiveApp]:
    """live_app(…) with the app and the fake serving inside the namespace (their
    background threads are started from it). Reach them through ``netns.run``."""

    def start(**options: Any) -> LiveApp:
        return netns.run(live_app, **options)

    return start


def login(page: Any, base_url: str, next_path: str = "/admin/interviews") -> None:
    """Log the operator in through the login form."""
    page.goto(f"{base_url}{next_path}")
    page.wait_for_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{next_path}")


def end_interview(page: Any) -> None:
    """End a live interview as a candidate does: "End interview", then confirm."""
    page.get_by_role("button", name="End interview").click()
    page.get_by_role("dialog", name="End the interview now?").get_by_role(
        "button", name="Yes, end it").click()


def finish_interview(
    app: LiveApp, interview_id: str, turns: list[tuple[str, ...]], *, simulated: bool = False
) -> None:
    """Store ``turns`` ((speaker, text) in order; an interviewer turn the candidate cut
    short as (speaker, heard text, "interrupted", whole text)) for the interview and mark
    it ended, as the relay does, through the store on the app's own database.
    ``simulated``: it ran against the built-in simulator."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from vivavoce.store import interviews as store
    from vivavoce.store.database import Database

    async def run() -> None:
        db = Database(app.app.state.runtime.db.url)
        try:
            # A plausible timeline: 20 s per turn, so the pages show a real length.
            now = datetime.now(UTC)
            began = now - timedelta(seconds=20 * len(turns))
            async with db.session() as s:
                await store.mark_live(s, interview_id, at=began, simulated=simulated)
                for sequence, (speaker, text, *cut) in enumerate(turns, start=1):
                    at = began + timedelta(seconds=20 * (sequence - 1))
                    await store.add_turn(
                        s,
                        interview_id=interview_id,
                        sequence=sequence,
                        speaker=speaker,  # type: ignore[arg-type]
                        text=text,
                        started_at=at,
                        ended_at=at + timedelta(seconds=15),
                        audio_ms=None,
                        item_id=f"item_{sequence}",
                        state=cut[0] if cut else "complete",  # type: ignore[arg-type]
                        full_text=cut[1] if len(cut) > 1 else None,
                    )
                await store.mark_ended(s, interview_id, status="ended", reason="candidate", at=now)
        finally:
            await db.dispose()

    # Playwright's sync API keeps an event loop running in this thread: seed from another.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)


def add_usage(app: LiveApp, interview_id: str, **amounts: Any) -> None:
    """Add token counts and cost to the interview, as the relay does after a response
    (``store.interviews.add_usage`` keywords)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from vivavoce.store import interviews as store
    from vivavoce.store.database import Database

    async def run() -> None:
        db = Database(app.app.state.runtime.db.url)
        try:
            async with db.session() as s:
                await store.add_usage(s, interview_id, **amounts)
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)
