"""The API docs need no network, and a browser that opens a made-up path gets a page."""

from __future__ import annotations

import re

import httpx

HTML = {"Accept": "text/html,application/xhtml+xml"}


async def test_docs_pages_load_their_assets_from_this_server(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page.text)
        assert assets, page.text
        for asset in assets:
            assert asset.startswith("/"), f"{path} loads {asset} from another host"
            served = await client.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
        assert "cdn." not in page.text and "fonts.googleapis" not in page.text
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Triad"


async def test_unknown_page_in_a_browser_is_an_html_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "There is no page at /no-such-page." in page.text
    assert 'href="/"' in page.text


async def test_unknown_path_stays_json_for_programs_and_api_paths(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/no-such-page")
    assert plain.status_code == 404 and plain.json() == {"detail": "Not Found", "error": "NotFound"}
    api = await client.get("/chat/nothing-here", headers=HTML)
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
