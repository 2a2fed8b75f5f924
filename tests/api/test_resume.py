"""Résumé intake on real generated files: extraction, errors, the endpoint."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.api import resume_files as files
from tests.api import resume_parsers as parsers
from tests.fixtures.database import ApiClient
from vivavoce.interview.candidate import RESUME_MAX
from vivavoce.resume import MAX_BYTES, ResumeError, guess_fields, read_resume, sniff


def test_text_pdf() -> None:
    result = read_resume(files.text_pdf())
    assert result.kind == "pdf" and result.pages == 1 and not result.truncated
    assert "Grace Hopper" in result.text and "grading tool" in result.text


def test_docx_including_tables() -> None:
    result = read_resume(files.docx_file())
    assert result.kind == "docx"
    assert "B.Sc. in Computer Science" in result.text
    assert "Languages | English, French" in result.text


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"Grace Hopper\nSkills: COBOL\n", "txt"),
        ("Grâce Höpper\nCompétences: Python\n".encode("utf-16"), "txt"),
        ("Grâce Höpper — résumé\n".encode("cp1252"), "txt"),
    ],
)
def test_plain_text_in_common_encodings(data: bytes, kind: str) -> None:
    result = read_resume(data)
    assert result.kind == kind
    assert "pper" in result.text and "\ufffd" not in result.text


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (files.image_only_pdf, 422, "pdf_no_text"),
        (files.encrypted_pdf, 422, "pdf_encrypted"),
        (files.garbage, 415, "unsupported_type"),
        (lambda: b"%PDF-1.7\n" + files.garbage(), 422, "pdf_corrupt"),
        (lambda: files.text_pdf()[:300], 422, "pdf_corrupt"),
        (lambda: b"PK\x03\x04" + files.garbage(), 415, "unsupported_type"),
        (lambda: b"\x89PNG\r\n\x1a\n" + files.garbage(), 415, "unsupported_type"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + files.garbage(), 415, "unsupported_type"),
        (lambda: b"   \n", 422, "empty_file"),
        (lambda: b"x" * (MAX_BYTES + 1), 413, "too_large"),
    ],
)
def test_unusable_files_raise_clear_errors(make: Any, status: int, code: str) -> None:
    with pytest.raises(ResumeError) as info:
        read_resume(make())
    assert (info.value.status, info.value.code) == (status, code)
    assert info.value.message


def test_scanned_pdf_says_to_paste_instead() -> None:
    with pytest.raises(ResumeError, match="paste your résumé instead"):
        read_resume(files.image_only_pdf())


def test_a_zip_that_is_not_word() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert sniff(buffer.getvalue()) == "zip"
    with pytest.raises(ResumeError, match="not a PDF, DOCX"):
        read_resume(buffer.getvalue())


def test_broken_docx_is_corrupt_not_a_crash() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not really xml")
    with pytest.raises(ResumeError) as info:
        read_resume(buffer.getvalue())
    assert info.value.code == "docx_corrupt"


def test_long_text_is_cleaned_and_capped() -> None:
    noisy = ("Summary\x1b\x07 line ____________________ " + "A" * 300 + "\n") * 500
    result = read_resume(noisy.encode())
    assert result.truncated and len(result.text) <= RESUME_MAX
    assert "\x1b" not in result.text and "\x07" not in result.text
    assert "______" not in result.text and "A" * 81 not in result.text


def test_guess_fields_from_a_resume() -> None:
    fields = guess_fields(read_resume(files.text_pdf()).text)
    assert fields.name == "Grace Hopper"
    assert fields.major == "Computer Science"
    assert fields.field == "computer_science"
    assert fields.level == "undergraduate_late"
    assert fields.level_label == "Third-year student"  # the start form's words
    assert fields.skills == ["Python", "SQL", "Compilers", "Distributed systems"]
    assert fields.education == "B.Sc. in Computer Science, Example University - 3rd year"
    assert fields.experience is not None and "grading tool" in fields.experience


def test_guess_fields_is_cautious() -> None:
    fields = guess_fields("curriculum vitae\nsome text without anything useful")
    assert fields.name is None and fields.field is None and fields.level is None
    assert fields.skills == []


def test_guess_fields_skills_under_a_heading() -> None:
    fields = guess_fields("Jane Doe\n\nTechnical Skills\n• Excel • Financial modelling\nSQL\n\nMSc in Finance")
    assert fields.skills == ["Excel", "Financial modelling", "SQL"]
    assert fields.field == "finance" and fields.level == "graduate"


# --- the endpoint -------------------------------------------------------------------------


async def _upload(client: ApiClient, name: str, data: bytes, **kw: Any) -> Any:
    return await client.post(
        "/api/resume", files={"file": (name, data, "application/octet-stream")}, **kw
    )


async def test_endpoint_extracts_and_guesses(api_client: ApiClient) -> None:
    response = await _upload(api_client, "cv.pdf", files.text_pdf())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "pdf" and body["chars"] == len(body["text"])
    assert body["fields"]["name"] == "Grace Hopper"


async def test_endpoint_judges_by_content_not_name(api_client: ApiClient) -> None:
    as_txt = await _upload(api_client, "cv.txt", files.docx_file())
    assert as_txt.status_code == 200 and as_txt.json()["kind"] == "docx"
    fake_pdf = await _upload(api_client, "cv.pdf", files.garbage())
    assert fake_pdf.status_code == 415
    assert fake_pdf.json()["error"]["code"] == "unsupported_type"


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (files.image_only_pdf, 422, "pdf_no_text"),
        (files.encrypted_pdf, 422, "pdf_encrypted"),
    ],
)
async def test_endpoint_errors(api_client: ApiClient, make: Any, status: int, code: str) -> None:
    response = await _upload(api_client, "cv.pdf", make())
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_endpoint_size_and_shape_errors(api_client: ApiClient) -> None:
    big = await _upload(api_client, "big.txt", b"a" * (MAX_BYTES + 200 * 1024))
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    just_over = await _upload(api_client, "big.txt", b"a" * (MAX_BYTES + 1))
    assert just_over.status_code == 413
    # Chunked, without a Content-Length: stopped while reading, not after.
    boundary = "vivavoceboundary"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode()

    sent = 0

    async def chunks():  # type: ignore[no-untyped-def]
        nonlocal sent
        yield head
        for _ in range(40):
            sent += 1024 * 1024
            yield b"a" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    chunked = await api_client.post(
        "/api/resume",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
    assert sent <= MAX_BYTES + 2 * 1024 * 1024  # the upload was cut off, not read to the end
    no_file = await api_client.post("/api/resume", data={"other": "x"})
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "invalid_input"
    not_multipart = await api_client.post("/api/resume", json={"file": "x"})
    assert not_multipart.status_code == 422
    broken = await api_client.post(
        "/api/resume", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}
    )
    assert broken.status_code == 400 and "error" in broken.json()


async def test_endpoint_auth_when_interviews_are_closed(make_api_client: Any) -> None:
    # Not development on loopback: there uploads are open whatever the setting says.
    client: ApiClient = await make_api_client(
        VIVAVOCE_OPEN_INTERVIEWS="false", VIVAVOCE_HOST="0.0.0.0", VIVAVOCE_ALLOW_INSECURE="1"
    )
    denied = await _upload(client, "cv.txt", b"Grace Hopper\nSkills: COBOL")
    assert denied.status_code == 401
    created = (
        await client.post(
            "/api/interviews", json={"candidate": {"name": "G"}}, headers=client.admin_headers
        )
    ).json()
    with_token = await _upload(
        client, "cv.txt", b"Grace Hopper\nSkills: COBOL", params={"token": created["token"]}
    )
    assert with_token.status_code == 200
    as_admin = await _upload(client, "cv.txt", b"Grace Hopper", headers=client.admin_headers)
    assert as_admin.status_code == 200


async def test_endpoint_gives_up_on_a_file_that_takes_too_long(
    make_api_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vivavoce.web import api_resume

    client: ApiClient = await make_api_client(VIVAVOCE_RESUME_TIMEOUT_SECONDS="0.5")
    # A parser busy for ever on a hostile file, run where read_resume would be.
    monkeypatch.setattr(api_resume, "read_resume", parsers.spin_forever)
    pid_file = tmp_path / "spin"
    response = await _upload(client, "cv.pdf", str(pid_file).encode())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_complex"
    assert response.json()["error"]["message"].startswith("This file takes too long to read.")
    with pytest.raises(ProcessLookupError):  # killed, not left running
        os.kill(int(pid_file.read_text()), 0)


async def test_endpoint_memory_limit(
    make_api_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from vivavoce.web import api_resume

    client: ApiClient = await make_api_client(VIVAVOCE_RESUME_MEMORY_MB="256")
    monkeypatch.setattr(api_resume, "read_resume", parsers.hog_memory)
    response = await _upload(client, "cv.pdf", str(tmp_path / "hog").encode())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_much_memory"


async def test_endpoint_busy_when_every_slot_is_taken(
    make_api_client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import anyio

    from vivavoce.web import api_resume

    client: ApiClient = await make_api_client(
        VIVAVOCE_RESUME_PARALLEL="1", VIVAVOCE_RESUME_QUEUE_SECONDS="0"
    )
    monkeypatch.setattr(api_resume, "read_resume", parsers.wait_for_go)
    slow = tmp_path / "slow"
    first: list[Any] = []

    async def upload_slowly() -> None:
        first.append(await _upload(client, "cv.pdf", str(slow).encode()))

    async with anyio.create_task_group() as group:
        group.start_soon(upload_slowly)
        with anyio.fail_after(10):
            while not slow.exists():
                await anyio.sleep(0.02)
        busy = await _upload(client, "cv.pdf", str(tmp_path / "other").encode())
        (tmp_path / "slow.go").touch()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert busy.json()["error"]["code"] == "busy"
    assert "Try again" in busy.json()["error"]["message"]
    assert not (tmp_path / "other").exists()  # never parsed
    assert first[0].status_code == 200 and first[0].json()["text"] == "parsed slow"


async def test_shutdown_stops_the_parser_processes(api_client: ApiClient) -> None:
    from vivavoce.web import api_resume

    assert (await _upload(api_client, "cv.txt", b"Grace Hopper\nSkills: COBOL")).status_code == 200
    reader = api_client.runtime.resume_reader
    hosts = [host._proc.pid for host in reader._idle if host._proc is not None]
    assert len(hosts) == 1
    os.kill(hosts[0], 0)  # running until shutdown
    await api_resume.on_shutdown(api_client.app, api_client.runtime)
    with pytest.raises(ProcessLookupError):
        os.kill(hosts[0], 0)


async def test_the_apps_shutdown_stops_the_parser_processes(
    migrated_database_url: str, make_settings: Any
) -> None:
    """What uvicorn does at exit (the lifespan's end) stops them too, not only a direct call."""
    import httpx

    from tests.fixtures.database import make_runtime
    from vivavoce.store.database import Database
    from vivavoce.web.app import create_app

    runtime = make_runtime(make_settings(VIVAVOCE_SIMULATOR="1"), Database(migrated_database_url))
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            uploaded = await http.post(
                "/api/resume", files={"file": ("cv.txt", b"Grace Hopper\nSkills: COBOL")}
            )
        assert uploaded.status_code == 200, uploaded.text
        reader = runtime.resume_reader
        hosts = [host._proc.pid for host in reader._idle if host._proc is not None]
        assert len(hosts) == 1
        os.kill(hosts[0], 0)
    with pytest.raises(ProcessLookupError):
        os.kill(hosts[0], 0)
