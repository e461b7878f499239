"""Accessibility sanity over the console's pages: every form control and button has a name."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.helpers import escalated_turn
from triad.db.models import Escalation, Lesson, TrainingSignal
from triad.runtime import Runtime

CONTROLS = {"input", "select", "textarea"}
UNNAMED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


class _Controls(HTMLParser):
    """Collects labels (for= and wrapping) and the controls and buttons of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.controls: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str]] = []
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in CONTROLS and (a.get("type") or "text") not in UNNAMED_INPUTS:
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.label_depth else ""})
        elif tag == "button":
            self._button = {"aria-label": a.get("aria-label") or "", "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)
        elif tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data


def unlabelled(page: str) -> list[str]:
    """What on `page` a screen reader could not name: controls without a label, empty buttons."""
    parser = _Controls()
    parser.feed(page)
    problems = []
    for c in parser.controls:
        named = (
            c.get("_wrapped")
            or c.get("aria-label")
            or c.get("aria-labelledby")
            or (c.get("id") and c["id"] in parser.label_for)
        )
        if not named:
            problems.append(f"<{c['_tag']} name={c.get('name')!r} id={c.get('id')!r}>")
    problems += [
        f"<button> {b}" for b in parser.buttons if not (b["text"].strip() or b["aria-label"])
    ]
    return problems


def test_checker_catches_an_unlabelled_control() -> None:
    assert unlabelled('<label for="a">A</label><input id="a"><input id="b" name="b">') == [
        "<input name='b' id='b'>"
    ]
    assert unlabelled("<label>Email <input name='e'></label><button></button>") == [
        "<button> {'aria-label': '', 'text': ''}"
    ]


async def test_every_console_form_control_is_labelled(
    client: httpx.AsyncClient,
    runtime: Runtime,
    admin_client: httpx.AsyncClient,
    session: AsyncSession,
    demo: None,
) -> None:
    await escalated_turn(client, runtime)
    escalation = await session.scalar(select(Escalation))
    signal = await session.scalar(select(TrainingSignal))
    assert escalation is not None and signal is not None
    session.add(
        Lesson(
            tenant="demo",
            agent="menu",
            status="proposed",
            title="Wagyu is not served",
            instruction="Never offer wagyu.",
            evidence_signal_ids=[signal.id],
        )
    )
    await session.commit()
    pages = {
        "/": client,
        "/login": client,
        "/staff/escalations": admin_client,
        f"/staff/escalations/{escalation.id}": admin_client,
        f"/staff/turns/{signal.message_id}": admin_client,
        "/admin": admin_client,
        "/admin/lessons": admin_client,
        "/admin/costs": admin_client,
        "/admin/providers": admin_client,
        "/admin/flags": admin_client,
    }
    for path, who in pages.items():
        page = await who.get(path)
        assert page.status_code == 200, path
        assert "<form" in page.text or "<table" in page.text, path
        assert unlabelled(page.text) == [], path
