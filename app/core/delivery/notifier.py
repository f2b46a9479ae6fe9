"""The notifier contract (entry points of ``logwarden.notifiers``), as delivery uses it.

Re-exported by ``app.plugins.contracts``, like the alert engine's ``RuleType``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from app.core.notification import Notification


class Notifier(Protocol):
    """What sends one channel's notifications (``logwarden.notifiers``).

    The entry point names the class. A channels-file entry ``lw_notifier: <name>`` (with
    ``lw_channel:`` and ``tag:``) is sent by it; the entry's other keys are the options.
    The built-in ``apprise`` (``app.adapters.apprise_channels.AppriseNotifier``) sends the
    URL entries.
    """

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> Notifier:
        """Validate ``options`` with ``Config`` and build the channel's notifier.

        Called once per channel when the channels file is read (worker start, ``logwarden
        notify test``); raise ``ValueError`` (a pydantic ``ValidationError`` is one) naming
        the bad option, and the start-up fails with the file and the entry named. No I/O.
        """
        ...

    async def send(self, notification: Notification) -> None:
        """Deliver once; raise (anything) to fail the attempt.

        A raise, or a send longer than ``notify.send_timeout_s`` (cancelled), is a failed
        attempt: recorded with the error text, retried with backoff up to
        ``notify.max_attempts``. ``notification.key`` is stable across retries and
        replays, so a receiver can drop duplicates.
        """
        ...
