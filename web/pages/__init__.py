"""The operators' pages: overview, search (and ``/api/v1/logs``), live tail, alerts,
pipeline, dead letters, services.

Importing this package sets up Jinja2 templates and the ``/static/`` route on the
worker's aiohttp application and registers the views. ``web.auth`` (imported first by
``app.main``) has authenticated every request before a view runs.
"""

from web.pages import setup  # isort: skip  # templates and static files first
from web.pages import alerts, anomaly, dlq, overview, pipeline, search, services, tail

__all__ = ["alerts", "anomaly", "dlq", "overview", "pipeline", "search", "services", "setup",
           "tail"]
