"""/docs and /redoc load every asset from the API itself: they work with no network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from api.app import create_app
from mentorpay.bootstrap import build_container
from mentorpay.servers import BackgroundServer
from mentorpay.settings import Settings
from tests.support.http import http_client

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


class _Assets(HTMLParser):
    """Every `<script src>` and `<link href>` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value is not None:
                self.urls.append(value)


def _asset_urls(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def api(sqlite_url: str) -> Iterator[httpx.Client]:
    container = build_container(Settings(database_url=sqlite_url))
    try:
        with (
            BackgroundServer(create_app(container.api_services())) as server,
            http_client(base_url=server.url, timeout=30) as client,
        ):
            yield client
    finally:
        container.close()


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_the_docs_page_and_its_assets_are_served_locally(
    api: httpx.Client, page: str, assets: set[str]
) -> None:
    response = api.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    html = response.text

    assert not re.search(r"https?://", html), "the page names an absolute URL"
    urls = _asset_urls(html)
    assert {url.rsplit("/", 1)[-1] for url in urls} >= assets
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = api.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        suffix = url[url.rfind(".") :]
        assert CONTENT_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)


def test_the_docs_pages_stay_out_of_the_openapi_document(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(paths)
    assert not any(path.startswith("/static") for path in paths)
