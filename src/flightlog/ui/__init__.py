"""The web UI: static pages (HTML, CSS, JavaScript) that the server serves as they are.

No build step and no network: charts use the plotly.js file that ships inside the
installed ``plotly`` Python package. Pages talk only to the server's HTTP API.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PAGES", "plotly_js_path", "static_dir"]

PAGES: dict[str, str] = {
    "explore": "explore.html",
    "runs": "runs.html",
    "run": "run.html",
    "alerts": "alerts.html",
    "slos": "slos.html",
    "models": "models.html",
}
"""Page name → file in ``static_dir()``."""


def static_dir() -> Path:
    """Folder holding the UI's HTML, CSS and JavaScript."""
    return Path(__file__).parent / "static"


def plotly_js_path() -> Path:
    """The minified plotly.js bundled with the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
