"""An experiment nobody has reached yet: a note per metric, not an empty chart."""

from __future__ import annotations

import httpx

from tests.api.conftest import ADMIN_HEADERS
from tests.experiments.conftest import MakeApp
from triad_admin.experiments_page import METRICS

AB = """
experiments:
  - key: menu-ab
    description: a bigger student for the menu agent
    target_kind: agent
    target: menu
    arms:
      - {name: control, share: 50}
      - {name: bigger, share: 50, student_model: "anthropic:claude-haiku-4-5"}
"""


async def test_no_traffic_draws_no_chart(make_app: MakeApp) -> None:
    _, client = await make_app(AB)
    page: httpx.Response = await client.get("/admin/experiments/menu-ab", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert "<svg" not in page.text
    assert page.text.count("No data yet") == len(METRICS)
