"""Report renderers: text (rich), json, csv (the tidy table) and html (one file).

Each takes a ``LogAnalysis`` (or several) and writes to a text stream or returns a string;
``RENDERERS`` maps the ``--output`` names to them.
"""

from __future__ import annotations

from flightlog.analyze.render.csv import render_csv
from flightlog.analyze.render.html import render_html
from flightlog.analyze.render.json import render_json
from flightlog.analyze.render.text import render_text, sparkline

__all__ = ["OUTPUTS", "render_csv", "render_html", "render_json", "render_text", "sparkline"]

OUTPUTS = ("text", "json", "html", "csv")
