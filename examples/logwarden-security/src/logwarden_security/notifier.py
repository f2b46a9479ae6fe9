"""The notifier ``jsonl``: each notification appended as one JSON line to a file.

A channel of logwarden's channels file names it with ``lw_notifier: jsonl`` (entry point
``logwarden.notifiers``); its one option is the file::

    - lw_notifier: jsonl
      lw_channel: security-file
      tag: security
      path: /var/log/logwarden/security-notifications.jsonl

A line is the notification itself (``Notification.to_json``: key, kind, title, alerts
with their labels and values...). A retry after an uncertain failure may append the same
notification twice; readers drop duplicates by ``key``. An error (a missing directory, a
full disk) propagates, so delivery records a failed attempt and retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from app.core.notification import Notification
from logwarden_security.options import validated


class JsonlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path  # the file the lines are appended to (its directory must exist)


class JsonlNotifier:
    name: ClassVar[str] = "jsonl"
    Config: ClassVar[type[BaseModel]] = JsonlOptions

    def __init__(self, options: JsonlOptions) -> None:
        self.path = options.path

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> JsonlNotifier:
        return cls(validated(JsonlOptions, options))

    async def send(self, notification: Notification) -> None:
        await asyncio.to_thread(self._append, notification.to_json() + b"\n")

    def _append(self, line: bytes) -> None:
        with self.path.open("ab") as out:  # one write of one line: appends do not interleave
            out.write(line)
