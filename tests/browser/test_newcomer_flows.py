"""In Debian's chromium: /docs with the network cut off, the customer chat page (message shown
at once with a typing indicator, Enter sends, the session survives reloads and tabs, a staff
reply sent while the page was closed is there on return, a new conversation on request),
feedback buttons with text labels, and the staff queue showing the question."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_HEADERS
from tests.api.helpers import HALLUCINATED
from tests.browser.png import ink
from tests.console.helpers import PASSWORD
from tests.support.scripted import ScriptedProvider
from triad.auth.users import create_user
from triad.db.models import Escalation
from triad.runtime import Runtime

QUESTION = "Do you serve wagyu beef?"
STAFF_ANSWER = "No wagyu, sorry: our steak is NY strip."
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def hold_answers(runtime: Runtime) -> asyncio.Event:
    """Both roles make something up (the turn goes to staff), and the student waits for the
    returned event, so the page can be looked at while the turn is still running."""
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    student = ScriptedProvider(HALLUCINATED)
    student.gate = asyncio.Event()
    runtime.use_provider(profile.teacher.model, ScriptedProvider(HALLUCINATED))
    runtime.use_provider(profile.student.model, student)
    return student.gate


async def test_docs_render_with_the_network_cut_off(
    app: FastAPI, live_url: str, browser: Browser, artifacts: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1000, "height": 700})
    outside: list[str] = []

    async def only_this_server(route: Route) -> None:
        if route.request.url.startswith(live_url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_this_server)
    page = await context.new_page()
    await page.goto(f"{live_url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Triad")
    await expect(page.locator(".opblock").first).to_be_visible()
    assert await page.locator(".opblock").count() > 20
    shot = artifacts / "docs-offline.png"
    await page.screenshot(path=shot)
    inked, colours = ink(shot)
    assert inked > 0.05 and colours > 20, (inked, colours)
    assert outside == [], f"/docs reached for {outside}"
    await context.close()


async def test_chat_page_shows_at_once_keeps_the_session_and_sees_staff_later(
    app: FastAPI,
    runtime: Runtime,
    client: httpx.AsyncClient,
    session: AsyncSession,
    demo: None,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    gate = hold_answers(runtime)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_url}/")
    box = page.get_by_label("Your message")
    log = page.get_by_role("list", name="Conversation")

    await box.fill("first line")
    await box.press("Shift+Enter")
    await box.press_sequentially("second line")
    assert await box.input_value() == "first line\nsecond line"
    await expect(log.locator("li")).to_have_count(0)  # Shift+Enter did not send

    await box.fill(QUESTION)
    await box.press("Enter")
    await expect(log.locator("li.customer")).to_have_text(f"You{QUESTION}")
    await expect(page.locator("#typing")).to_be_visible()
    await expect(page.locator("#typing")).to_contain_text("typing")
    await expect(box).to_have_value("")
    await page.screenshot(path=artifacts / "1-typing.png", full_page=True)
    gate.set()
    await expect(log.locator("li.assistant")).to_have_count(1)
    await expect(page.locator("#typing")).to_be_hidden()
    await expect(log.locator("li.customer")).to_have_count(1)

    await page.reload()
    await expect(log.locator("li")).to_have_count(2)
    await expect(log.locator("li.customer")).to_have_text(f"You{QUESTION}")
    other_tab = await context.new_page()
    await other_tab.goto(f"{live_url}/")
    await expect(other_tab.get_by_role("list", name="Conversation").locator("li")).to_have_count(2)
    await other_tab.close()
    await page.close()

    case = await session.scalar(select(Escalation))
    assert case is not None
    replied = await client.post(
        f"/escalations/{case.id}/reply", json={"text": STAFF_ANSWER}, headers=STAFF_HEADERS
    )
    assert replied.status_code == 200, replied.text

    back = await context.new_page()
    await back.goto(f"{live_url}/")
    later = back.get_by_role("list", name="Conversation")
    await expect(later.locator("li.staff .text")).to_have_text(STAFF_ANSWER)
    await back.screenshot(path=artifacts / "2-staff-reply-on-return.png", full_page=True)

    await back.get_by_role("button", name="Start a new conversation").click()
    await expect(later.locator("li")).to_have_count(0)
    await back.reload()
    await expect(later.locator("li")).to_have_count(0)
    assert await back.evaluate("localStorage.getItem('triad.chat')") is None
    await context.close()


async def test_feedback_buttons_have_text_labels_and_names(
    runtime: Runtime, demo: None, live_url: str, browser: Browser, artifacts: Path
) -> None:
    hold_answers(runtime).set()
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{live_url}/")
    await page.get_by_label("Your message").fill(QUESTION)
    await page.get_by_role("button", name="Send").click()
    reply = page.get_by_role("list", name="Conversation").locator("li.assistant")
    up = reply.get_by_role("button", name="Helpful", exact=True)
    down = reply.get_by_role("button", name="Not helpful", exact=True)
    await expect(up).to_have_text("Helpful")
    await expect(down).to_have_text("Not helpful")
    assert not EMOJI.search(await reply.locator(".fb").inner_text())
    assert await reply.locator(".fb svg[aria-hidden=true]").count() == 2
    await down.click()
    await expect(down).to_have_attribute("aria-pressed", "true")
    await expect(up).to_have_attribute("aria-pressed", "false")
    await page.screenshot(path=artifacts / "feedback.png", full_page=True)


async def test_staff_queue_shows_the_question(
    app: FastAPI,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    hold_answers(runtime).set()
    customer = await (await browser.new_context()).new_page()
    await customer.goto(f"{live_url}/")
    await customer.get_by_label("Your message").fill(QUESTION)
    await customer.get_by_label("Your message").press("Enter")
    await expect(customer.locator("li.assistant .note")).to_have_text(
        "A team member will follow up here."
    )
    async with app.state.session_factory() as db:
        await create_user(db, "sam@example.com", PASSWORD, "staff", display_name="Sam")
    staff = await (await browser.new_context()).new_page()
    await staff.goto(f"{live_url}/staff")
    await staff.get_by_label("Email").fill("sam@example.com")
    await staff.get_by_label("Password").fill(PASSWORD)
    await staff.get_by_role("button", name="Sign in").click()
    await expect(staff).to_have_url(f"{live_url}/staff/escalations")
    row = staff.locator("tbody tr").first
    await expect(row.locator("td.question")).to_have_text(QUESTION)
    await expect(staff.get_by_role("columnheader", name="Question")).to_be_visible()
    await staff.screenshot(path=artifacts / "queue.png", full_page=True)


async def test_unknown_page_is_a_page_in_the_browser(live_url: str, browser: Browser) -> None:
    page: Page = await (await browser.new_context()).new_page()
    response = await page.goto(f"{live_url}/no-such-page")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.get_by_role("link", name="Back")).to_have_attribute("href", "/")
