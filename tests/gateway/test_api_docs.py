"""Swagger UI and ReDoc through nginx: pages that load only assets the platform serves itself
(no CDN), and those assets answered 200 with the right content type."""

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from shared.settings import SERVICE_NAMES
from tests.conftest import Platform

# src, href and spec-url (ReDoc) attributes, and url: '...' in Swagger UI's inline script.
ASSET_URL = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^'"]+)['"]"""
)
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=30.0) as client:
        yield client


def _urls(page: str) -> list[str]:
    return [first or second for first, second in ASSET_URL.findall(page)]


@pytest.mark.parametrize(
    "page",
    [
        "/docs",
        "/redoc",
        *(f"/{service}/docs" for service in SERVICE_NAMES),
        *(f"/{service}/redoc" for service in SERVICE_NAMES),
    ],
)
def test_docs_page_loads_only_local_assets(client: httpx.Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?i)\b(https?:)?//[a-z0-9]", response.text), "an absolute URL"
    urls = _urls(response.text)
    scripts = [url for url in urls if url.endswith(".js")]
    assert scripts, f"{page} loads no script: {urls}"
    assert any(url.endswith("openapi.json") for url in urls), urls
    for url in urls:
        absolute = urljoin(str(response.url), url)
        assert urlsplit(absolute).netloc == urlsplit(client.base_url.__str__()).netloc, (
            f"{page} loads {url} from elsewhere"
        )
        asset = client.get(absolute)
        assert asset.status_code == 200, (page, url)
        suffix = "." + urlsplit(absolute).path.rsplit(".", 1)[-1]
        content_type = asset.headers["content-type"].split(";")[0]
        assert content_type in CONTENT_TYPES[suffix], (url, content_type)
        assert asset.content, url


def test_assets_are_compressed_through_nginx(client: httpx.Client) -> None:
    response = client.get("/docs/assets/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert b"SwaggerUIBundle" in response.content


def test_unknown_asset_is_a_problem(client: httpx.Client) -> None:
    response = client.get("/docs/assets/missing.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
