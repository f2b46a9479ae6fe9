"""Composition root: the Faust app with its agents (``worker.agents``) and views registered.

Agent names resolve through the ``logwarden.agents`` entry points (``app.plugins``):
logwarden's own agents and installed plugin agents take the same path.
"""

from __future__ import annotations

import agents.retention
import web.auth  # first: the session and authentication middlewares
import web.health
import web.ingest
import web.metrics
import web.openapi
import web.pages  # overview, search, live tail (Jinja2 templates, /static/)
import web.summary
import web.tokens_admin
from app import faust_app
from app.faust_app import app, settings
from app.memory import trim_heap
from app.plugins.worker import install_agents


@app.timer(interval=settings.worker.heap_trim_interval_s or 3600.0)  # type: ignore[untyped-decorator]
async def trim_heap_timer() -> None:
    if settings.worker.heap_trim_interval_s:
        trim_heap()


AGENTS = install_agents(app, settings, {
    "raw": faust_app.raw_topic, "events": faust_app.events_topic,
    "dlq": faust_app.dlq_topic, "windows_closed": faust_app.windows_closed_topic})

__all__ = ["agents", "app", "web"]
