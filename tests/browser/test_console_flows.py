"""End-to-end in a real browser: a customer escalation answered by staff; a customer's thumbs
down; an admin review."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import GROUNDED, HALF_TRUE, HALLUCINATED, script_roles
from tests.console.helpers import ESCALATING_QUESTION, PASSWORD, escalated_turn
from triad.auth.users import create_user
from triad.db.models import Escalation, Lesson, Message, TrainingSignal
from triad.runtime import Runtime

STAFF_ANSWER = "We don't serve wagyu. Our steak option is NY strip, and it is excellent."


async def _user(app: FastAPI, email: str, role: str) -> None:
    async with app.state.session_factory() as db:
        await create_user(db, email, PASSWORD, role, display_name=email.split("@")[0])


async def _sign_in(page: Page, base: str, path: str, email: str) -> None:
    """Open a console page as a visitor, get sent to the login form, sign in, land back."""
    await page.goto(f"{base}{path}")
    await expect(page).to_have_url(re.compile(rf"{re.escape(base)}/login\?next="))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def test_customer_escalation_is_answered_by_staff(
    app: FastAPI,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    # Neither answer is deliverable (as in `escalated_turn`): the customer is told to wait.
    script_roles(runtime, HALF_TRUE, HALLUCINATED)
    await _user(app, "sam@example.com", "staff")

    customer = await (await browser.new_context()).new_page()
    await customer.goto(f"{live_url}/")
    await customer.get_by_label("Your message").fill(ESCALATING_QUESTION)
    await customer.get_by_role("button", name="Send").click()
    log = customer.get_by_role("list", name="Conversation")
    await expect(log.locator("li.customer")).to_have_text(f"You{ESCALATING_QUESTION}")
    await expect(log.locator("li.assistant .note")).to_have_text(
        "A team member will follow up here."
    )
    await customer.screenshot(path=artifacts / "1-customer-escalated.png", full_page=True)

    staff = await (await browser.new_context()).new_page()
    await _sign_in(staff, live_url, "/staff", "sam@example.com")
    await expect(staff).to_have_url(f"{live_url}/staff/escalations")
    await staff.screenshot(path=artifacts / "2-staff-queue.png", full_page=True)
    await staff.locator("tbody a").first.click()
    await expect(staff.locator("section.candidate")).to_have_count(2)
    await expect(staff.locator("mark.claim.supported").first).to_be_visible()
    failed = staff.locator("mark.claim.unsupported, mark.claim.contradicted")
    await expect(failed.first).to_be_visible()
    await staff.screenshot(path=artifacts / "3-staff-case.png", full_page=True)

    await staff.get_by_role("button", name="Claim this case").click()
    await expect(staff.get_by_role("status")).to_contain_text("You claimed this case")
    await staff.get_by_label("Your reply").fill(STAFF_ANSWER)
    await staff.get_by_role("button", name="Send reply and resolve").click()
    await expect(staff.get_by_role("status")).to_contain_text("Your reply was sent")
    await staff.screenshot(path=artifacts / "4-staff-replied.png", full_page=True)

    staff_line = log.locator("li.staff")
    await expect(staff_line).to_have_text(f"Team member{STAFF_ANSWER}HelpfulNot helpful")
    await customer.screenshot(path=artifacts / "5-customer-sees-staff-reply.png", full_page=True)
    await staff_line.get_by_role("button", name="Helpful", exact=True).click()
    await expect(staff_line.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )

    escalation = await session.scalar(select(Escalation))
    assert escalation is not None and escalation.status == "resolved"
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None and signal.gold_answer == STAFF_ANSWER


async def test_admin_approves_a_lesson_and_sees_the_win_rate_chart(
    app: FastAPI,
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    await escalated_turn(client, runtime)
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None
    lesson = Lesson(
        tenant="demo",
        agent="menu",
        status="proposed",
        title="Wagyu is not served",
        instruction="Never offer wagyu; the steak option is NY strip.",
        wrong_claim="we serve wagyu beef for $20 extra per plate",
        evidence_signal_ids=[signal.id],
    )
    session.add(lesson)
    await session.commit()
    await _user(app, "ada@example.com", "admin")

    page = await (await browser.new_context()).new_page()
    await _sign_in(page, live_url, "/admin/lessons", "ada@example.com")
    await expect(page).to_have_url(f"{live_url}/admin/lessons")
    card = page.locator(f"#lesson-{lesson.id}")
    await expect(card).to_contain_text("Never offer wagyu")
    await expect(card.get_by_role("link", name=f"turn #{signal.message_id}")).to_be_visible()
    await page.screenshot(path=artifacts / "1-lessons-proposed.png", full_page=True)
    await card.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("Lesson approved")
    await page.screenshot(path=artifacts / "2-lesson-approved.png", full_page=True)
    await session.refresh(lesson)
    assert lesson.status == "approved"

    await page.get_by_role("link", name="Admin", exact=True).click()
    chart = page.locator('svg[aria-label="Win rate per provider, role and agent"]')
    await expect(chart).to_have_count(1)
    await expect(chart).to_be_visible()
    await page.screenshot(path=artifacts / "3-dashboard.png", full_page=True)


async def test_customer_marks_an_answer_not_helpful(
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{live_url}/")
    await page.get_by_label("Your message").fill(ESCALATING_QUESTION)
    await page.get_by_role("button", name="Send").click()
    log = page.get_by_role("list", name="Conversation")
    reply = log.locator("li.assistant")
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".note")).to_have_count(0)  # answered, not escalated
    down = reply.get_by_role("button", name="Not helpful", exact=True)
    up = reply.get_by_role("button", name="Helpful", exact=True)
    await expect(down).to_have_attribute("aria-pressed", "false")

    await down.click()
    await expect(page.get_by_role("status")).to_have_text("Thanks for the feedback.")
    await expect(down).to_have_attribute("aria-pressed", "true")
    await expect(up).to_have_attribute("aria-pressed", "false")
    await page.screenshot(path=artifacts / "1-not-helpful.png", full_page=True)
    message_id = int(await reply.get_attribute("data-message-id") or 0)
    stored = await session.scalar(select(Message.feedback).where(Message.id == message_id))
    assert stored == -1

    await page.reload()  # the pressed state comes back from the server, not from the page
    again = page.get_by_role("list", name="Conversation").locator("li.assistant")
    await expect(again.get_by_role("button", name="Not helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
