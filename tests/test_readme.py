"""Every command of the README's "Try it" block, run as written by bash against a served app.

The app is served by uvicorn on 127.0.0.1 at a free port, with teacher and student scripted to
make things up, so the wagyu turn escalates and the staff lines have a case to claim and answer.
Only two things differ from a person at a terminal: the `TRIAD=` line names the test server's
port, and the password the account commands ask for comes on standard input. curl runs with
`--fail-with-body` (through a curlrc) and bash with `-e`, so any HTTP error fails the test.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import app, demo, runtime
from tests.api.helpers import HALLUCINATED, script_roles
from tests.browser.conftest import live_url
from tests.conftest import TEST_DATABASE
from triad.db.models import Escalation, Message, User
from triad.runtime import Runtime
from triad.settings import PROJECT_ROOT

__all__ = ["app", "demo", "live_url", "runtime"]

README = PROJECT_ROOT / "README.md"
PASSWORD = "correct horse battery staple"


def try_it_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert match, "the Try it section has no bash block"
    return match.group(1)


def as_run_here(block: str, base_url: str) -> str:
    lines = block.splitlines()
    server = [i for i, line in enumerate(lines) if line.startswith("TRIAD=http://127.0.0.1:8000")]
    assert server == [0], "the block must start by naming the server once"
    lines[0] = f"TRIAD={base_url}"
    out = []
    for line in lines:
        if "triad create-user" in line:
            line = f"{line.split('#', 1)[0].rstrip()} --password-stdin <<< '{PASSWORD}'"
        out.append(line)
    return "\n".join(out) + "\n"


def test_no_example_uses_a_variable_it_never_sets() -> None:
    block = try_it_block()
    assigned = set(re.findall(r"^([A-Z_]+)=", block, flags=re.M))
    used = set(re.findall(r"\$\{?([A-Z_]+)", block))
    assert used <= assigned, f"used but never set: {sorted(used - assigned)}"
    assert "$TOKEN" not in block  # one name for the customer's token, another for staff's


async def test_try_it_runs_as_written(
    app: FastAPI,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    live_url: str,
    tmp_path: Path,
) -> None:
    script_roles(runtime, HALLUCINATED, HALLUCINATED)
    (tmp_path / ".curlrc").write_text("fail-with-body\nmax-time = 120\n")
    script = tmp_path / "try_it.sh"
    script.write_text("set -euo pipefail\n" + as_run_here(try_it_block(), live_url))
    env = {
        **os.environ,
        "CURL_HOME": str(tmp_path),
        "TRIAD_DATABASE_NAME": TEST_DATABASE,
        "TRIAD_SCHEDULER": "false",
    }
    assert shutil.which("curl"), "curl is needed to run the README"
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(script),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
    output = stdout.decode() + stderr.decode()
    assert process.returncode == 0, output

    session.expire_all()
    emails = set(await session.scalars(select(User.email)))
    assert {"admin@example.com", "sam@example.com"} <= emails
    customer = await session.scalar(
        select(Message).where(Message.content == "Do you serve wagyu beef?")
    )
    assert customer is not None
    answered = await session.scalar(select(Escalation).where(Escalation.status == "resolved"))
    assert answered is not None, output
    staff = await session.get(Message, answered.reply_message_id)
    assert staff is not None and staff.content == "We do not serve wagyu; NY strip is our steak."
    assert '"choices"' in output  # the OpenAI-compatible answer
