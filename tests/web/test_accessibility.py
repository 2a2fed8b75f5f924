"""Static accessibility checks of every page: language, labels, names, headings."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from vivavoce.runtime import Runtime
from vivavoce.tokens import issue_interview_token


class A11yScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.h1 = 0
        self.buttons: list[dict[str, str | None]] = []
        self._button: dict[str, str | None] | None = None
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag == "h1":
            self.h1 += 1
        if tag == "button":
            self._button = a
            self._button_text = ""

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self._button["text"] = self._button_text.strip()
            self.buttons.append(self._button)
            self._button = None


def test_every_page_is_labelled_for_assistive_technology(client: TestClient) -> None:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    token = issue_interview_token(runtime.secret_key, "iv-1")
    pages = ["/", f"/i/{token}", f"/results/iv-1?token={token}", "/admin/login"]
    log_in(client)
    pages += ["/admin/interviews", "/admin/setup", "/admin/usage", "/admin/webhooks"]
    for path in pages:
        scan = A11yScan()
        scan.feed(client.get(path).text)
        assert scan.lang == "en", path
        assert scan.h1 == 1, path
        for control in scan.controls:
            named = control.get("id") in scan.label_for or control.get("aria-label")
            assert named, f"{path}: unlabelled control {control}"
        for button in scan.buttons:
            assert button.get("text") or button.get("aria-label"), f"{path}: nameless button"
