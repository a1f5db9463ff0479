"""The territory map page (``/map``) and its assets (``/map/assets/``): a static page whose
script calls the services through the gateway with the user's API key. MapLibre GL JS is
vendored in ``static/map/vendor/`` (copied from npm by ``services/gateway/web``; no CDN)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

MAP_DIRECTORY = Path(__file__).resolve().parent / "static" / "map"


def install_map_page(app: FastAPI) -> None:
    app.mount("/map/assets", StaticFiles(directory=MAP_DIRECTORY), name="map-assets")

    @app.get("/map", include_in_schema=False)
    async def map_page() -> FileResponse:
        """The territory map."""
        # Revalidated on every load, so a new page reaches browsers at once (ETag → 304).
        return FileResponse(MAP_DIRECTORY / "index.html", headers={"Cache-Control": "no-cache"})
