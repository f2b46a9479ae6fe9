"""Composition root: the Faust app with its agents (``worker.agents``) and views registered."""

from __future__ import annotations

import importlib

import agents.retention
import web.health
import web.ingest
import web.summary
from app.faust_app import app, settings

for _name in settings.worker.agents:
    importlib.import_module(f"agents.{_name}")

__all__ = ["agents", "app", "web"]
