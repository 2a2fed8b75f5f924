"""The résumé reader: parsing in a separate process that is killed at the deadline,
memory-limited, a few at a time — with real processes and test-only parsers."""

from __future__ import annotations

import functools
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from tests.api import resume_files as files
from tests.api import resume_parsers as parsers
from vivavoce.config import load_settings
from vivavoce.resume import ReaderLimits, ResumeError, ResumeReader, ResumeText

MakeReader = Callable[..., ResumeReader]


@pytest.fixture
def make_reader() -> Iterator[MakeReader]:
    readers: list[ResumeReader] = []

    def make(**limits: float) -> ResumeReader:
        reader = ResumeReader(ReaderLimits(**limits))  # type: ignore[arg-type]
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _pid(path: Path) -> int:
    return int(path.read_text())


async def _wait_for(predicate: Callable[[], bool], seconds: float = 10) -> None:
    with anyio.fail_after(seconds):
        while not predicate():
            await anyio.sleep(0.02)


async def test_real_files_parse_as_before(make_reader: MakeReader) -> None:
    reader = make_reader()
    pdf = await reader.read(files.text_pdf())
    assert (pdf.kind, pdf.pages) == ("pdf", 1) and "Grace Hopper" in pdf.text
    docx = await reader.read(files.docx_file())
    assert docx.kind == "docx" and "Languages | English, French" in docx.text
    txt = await reader.read("Grâce Höpper\nCompétences: Python\n".encode("utf-16"))
    assert txt.kind == "txt" and "Höpper" in txt.text


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (files.encrypted_pdf, "pdf_encrypted"),
        (files.image_only_pdf, "pdf_no_text"),
        (files.garbage, "unsupported_type"),
    ],
)
async def test_the_parsers_own_errors_come_through(
    make_reader: MakeReader, make: Callable[[], bytes], code: str
) -> None:
    with pytest.raises(ResumeError) as info:
        await make_reader().read(make())
    assert info.value.code == code and info.value.message


async def test_the_parsers_log_lines_reach_the_server(
    make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce.resume")
    with pytest.raises(ResumeError) as info:
        await make_reader().read(b"%PDF-1.7\n" + files.garbage())
    assert info.value.code == "pdf_corrupt"
    assert any(
        r.name == "vivavoce.resume" and r.getMessage().startswith("unreadable PDF résumé")
        for r in caplog.records
    )


async def test_a_parser_that_never_ends_is_killed_at_the_deadline(
    make_reader: MakeReader, tmp_path: Path
) -> None:
    reader = make_reader(timeout_s=1.0)
    await reader.read(b"warm up the parser process")  # host start-up is not the test
    pid_file = tmp_path / "spin"
    failed: list[ResumeError] = []

    async def read_it() -> None:
        try:
            await reader.read(str(pid_file).encode(), parse=parsers.spin_forever)
        except ResumeError as exc:
            failed.append(exc)

    started = time.monotonic()
    with anyio.fail_after(60):  # a hang guard: a parser never killed fails here
        async with anyio.create_task_group() as group:
            group.start_soon(read_it)
            # The event loop keeps turning while the parser spins: this coroutine sees
            # the parser start while the read is still under way.
            await _wait_for(pid_file.exists)
            assert not failed
            pid = _pid(pid_file)
    elapsed = time.monotonic() - started
    [error] = failed
    assert (error.status, error.code) == (422, "too_complex")
    assert error.message.startswith("This file takes too long to read.")
    assert elapsed >= 1.0  # not given up before its deadline
    assert _gone(pid), "the parser process is still there"
    # The host survived: the next file is read normally.
    assert (await reader.read(b"Grace Hopper\nSkills: COBOL\n")).kind == "txt"


async def test_a_memory_hungry_parse_fails_with_the_memory_error(
    make_reader: MakeReader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pid_file = tmp_path / "hog"
    with pytest.raises(ResumeError) as info:
        await make_reader(memory_bytes=256 * 1024 * 1024).read(
            str(pid_file).encode(), parse=parsers.hog_memory
        )
    assert (info.value.status, info.value.code) == (422, "too_much_memory")
    assert "too much memory" in info.value.message
    assert _gone(_pid(pid_file))
    assert "memory limit of 256 MiB" in caplog.text


async def test_a_crashing_parser_is_a_clear_error(
    make_reader: MakeReader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pid_file = tmp_path / "crash"
    with pytest.raises(ResumeError) as info:
        await make_reader().read(str(pid_file).encode(), parse=parsers.crash)
    assert (info.value.status, info.value.code) == (422, "unreadable")
    assert "could not be read" in info.value.message
    assert _gone(_pid(pid_file))
    assert f"exit code {-signal.SIGSEGV}" in caplog.text


async def test_an_unexpected_parser_exception_is_not_a_server_error(
    make_reader: MakeReader, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ResumeError) as info:
        await make_reader().read(str(tmp_path / "bug").encode(), parse=parsers.raise_unexpected)
    assert (info.value.status, info.value.code) == (422, "unreadable")
    assert "raised KeyError" in caplog.text


async def test_library_output_does_not_confuse_the_answer(
    make_reader: MakeReader, tmp_path: Path
) -> None:
    reader = make_reader()
    for name in ("one", "two"):
        result = await reader.read(str(tmp_path / name).encode(), parse=parsers.noisy)
        assert result == ResumeText(kind="txt", text=f"parsed {name}", truncated=False)


async def test_only_so_many_at_once_then_busy(make_reader: MakeReader, tmp_path: Path) -> None:
    reader = make_reader(parallel=1, queue_s=0.3)
    first = tmp_path / "first"
    results: list[ResumeText] = []

    async def read_first() -> None:
        results.append(await reader.read(str(first).encode(), parse=parsers.wait_for_go))

    async with anyio.create_task_group() as group:
        group.start_soon(read_first)
        await _wait_for(first.exists)
        started = time.monotonic()
        with pytest.raises(ResumeError) as info:
            await reader.read(b"Grace Hopper\nSkills: COBOL\n")
        waited = time.monotonic() - started
        (tmp_path / "first.go").touch()
    assert (info.value.status, info.value.code) == (503, "busy")
    assert "Try again" in info.value.message
    assert 0.3 <= waited < 3
    assert results[0].text == "parsed first"
    # A slot is free again.
    assert (await reader.read(b"Grace Hopper\nSkills: COBOL\n")).kind == "txt"


async def test_an_upload_waits_for_a_slot_within_the_queue_time(
    make_reader: MakeReader, tmp_path: Path
) -> None:
    reader = make_reader(parallel=1, queue_s=10)
    first = tmp_path / "first"
    texts: list[str] = []

    async def read(path: Path) -> None:
        texts.append((await reader.read(str(path).encode(), parse=parsers.wait_for_go)).text)

    async with anyio.create_task_group() as group:
        group.start_soon(read, first)
        await _wait_for(first.exists)
        group.start_soon(read, tmp_path / "second")
        await anyio.sleep(0.3)
        assert not (tmp_path / "second").exists()  # queued, not started
        (tmp_path / "first.go").touch()
        (tmp_path / "second.go").touch()
    assert texts == ["parsed first", "parsed second"]


async def test_a_candidate_who_goes_away_gets_the_parse_killed(
    make_reader: MakeReader, tmp_path: Path
) -> None:
    reader = make_reader(timeout_s=60)
    pid_file = tmp_path / "spin"
    with anyio.move_on_after(15):
        async with anyio.create_task_group() as group:
            group.start_soon(
                functools.partial(reader.read, str(pid_file).encode(), parse=parsers.spin_forever)
            )
            await _wait_for(pid_file.exists)
            group.cancel_scope.cancel()
    pid = _pid(pid_file)
    await _wait_for(lambda: _gone(pid), seconds=5)  # killed now, not in 60 s
    assert (await reader.read(b"Grace Hopper\nSkills: COBOL\n")).kind == "txt"


async def test_a_parser_process_that_died_while_idle_is_replaced(
    make_reader: MakeReader,
) -> None:
    reader = make_reader(parallel=1)
    assert (await reader.read(b"Grace Hopper\n")).kind == "txt"
    [host] = list(reader._idle)
    assert host._proc is not None
    os.killpg(host._proc.pid, signal.SIGKILL)
    await _wait_for(lambda: host._proc is not None and host._proc.poll() is not None)
    assert (await reader.read(b"Ada Lovelace\n")).text == "Ada Lovelace"


async def test_the_parser_must_be_importable_by_name(make_reader: MakeReader) -> None:
    def local(data: bytes) -> ResumeText:
        raise AssertionError("never run")

    with pytest.raises(TypeError, match="module-level function"):
        await make_reader().read(b"x", parse=local)


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    defaults = ReaderLimits.from_settings(load_settings({}, env_file=tmp_path / "none"))
    assert defaults == ReaderLimits(
        timeout_s=20.0, memory_bytes=512 * 1024 * 1024, parallel=2, queue_s=10.0
    )
    settings = load_settings(
        {
            "VIVAVOCE_RESUME_TIMEOUT_SECONDS": "5",
            "VIVAVOCE_RESUME_MEMORY_MB": "256",
            "VIVAVOCE_RESUME_PARALLEL": "1",
            "VIVAVOCE_RESUME_QUEUE_SECONDS": "0",
        },
        env_file=tmp_path / "none",
    )
    assert ReaderLimits.from_settings(settings) == ReaderLimits(5.0, 256 * 1024 * 1024, 1, 0.0)
