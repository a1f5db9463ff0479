"""Swagger UI and ReDoc pages whose scripts and styles the app serves itself (no CDN).

The assets come from the fastapi-offline package, which ships Swagger UI and ReDoc builds.
"""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIRECTORY = str(files("fastapi_offline") / "static")


def install_docs(app: FastAPI, *, prefix: str, title: str) -> None:
    """``{prefix}/docs`` (Swagger UI) and ``{prefix}/redoc`` over ``{prefix}/openapi.json``, their
    assets under ``{prefix}/docs/assets/``."""
    assets = f"{prefix}/docs/assets"
    openapi_url = f"{prefix}/openapi.json"
    app.mount(assets, StaticFiles(directory=ASSETS_DIRECTORY), name=f"{prefix}-docs-assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        """Interactive API documentation."""
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        """Reference API documentation."""
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
