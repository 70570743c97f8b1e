"""Serves the web UI: the pages, their static assets and the bundled plotly.js."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from flightlog.ui import PAGES, plotly_js_path, static_dir

router = APIRouter(include_in_schema=False)

_ASSET_TYPES = {".css": "text/css", ".js": "text/javascript", ".html": "text/html"}
_CACHE = {"Cache-Control": "public, max-age=3600"}


def _page(name: str) -> FileResponse:
    return FileResponse(static_dir() / PAGES[name], media_type="text/html")


@router.get("/")
def explore_page() -> FileResponse:
    """Explore: LogQL editor, volume histogram, results and live tail."""
    return _page("explore")


@router.get("/runs")
def runs_page() -> FileResponse:
    """Training runs list and comparison."""
    return _page("runs")


@router.get("/runs/{run_id}")
def run_page(run_id: str) -> FileResponse:
    """One training run: curves, diagnoses, hyperparameters, system metrics."""
    return _page("run")


@router.get("/alerts")
def alerts_page() -> FileResponse:
    """Firing and pending alerts, and silences."""
    return _page("alerts")


@router.get("/slos")
def slos_page() -> FileResponse:
    """SLOs with error budgets and burn rates."""
    return _page("slos")


@router.get("/models")
def models_page() -> FileResponse:
    """Drift checks: the latest result of each model, per feature, drifted first."""
    return _page("models")


@router.get("/ui/plotly.min.js")
def plotly_js() -> FileResponse:
    """The plotly.js shipped inside the installed plotly package (no network needed)."""
    return FileResponse(plotly_js_path(), media_type="text/javascript", headers=_CACHE)


@router.get("/ui/static/{name}")
def static_asset(name: str) -> FileResponse:
    """CSS and JavaScript of the pages; only plain file names inside the static folder."""
    path = static_dir() / name
    media_type = _ASSET_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or media_type is None or not path.is_file():
        raise HTTPException(status_code=404, detail=f"no UI asset named {name!r}")
    return FileResponse(path, media_type=media_type)
