"""Composition root: the Faust app with every built-in agent and view registered."""

from __future__ import annotations

import agents.index
import agents.parse
import web.health
import web.ingest
from app.faust_app import app

__all__ = ["agents", "app", "web"]
