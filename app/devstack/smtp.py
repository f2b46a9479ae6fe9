"""SMTP sink: aiosmtpd (PyPI) delivering every message into a Maildir."""

from __future__ import annotations

import importlib.util
import mailbox
import smtplib
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from app.devstack.base import Service
from app.devstack.config import HOST, DevstackError, Layout, port


def address() -> str:
    return f"{HOST}:{port('smtp')}"


def maildir_path(layout: Layout | None = None) -> Path:
    return (layout or Layout.current()).run_dir("smtp") / "Maildir"


def send_and_read_back(
    host: str = HOST, port_: int | None = None, maildir: Path | None = None, timeout: float = 5.0
) -> str:
    """Send a uniquely-subjected message with smtplib and find it in the Maildir."""
    subject = f"devstack check {uuid.uuid4().hex}"
    msg = EmailMessage()
    msg["From"] = "devstack@example.test"
    msg["To"] = "sink@example.test"
    msg["Subject"] = subject
    msg.set_content("round trip")
    with smtplib.SMTP(host, port_ or port("smtp"), timeout=timeout) as client:
        client.send_message(msg)
    box = mailbox.Maildir(str(maildir or maildir_path()), create=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key, found in box.items():
            if found["Subject"] == subject:
                box.remove(key)
                return "send + Maildir read-back ok"
        time.sleep(0.1)
    raise RuntimeError(f"message {subject!r} did not arrive in {maildir or maildir_path()}")


class Smtp(Service):
    name = "smtp"
    port_keys = ("smtp",)
    start_timeout = 30.0

    @property
    def maildir(self) -> Path:
        return maildir_path(self.layout)

    def endpoint(self) -> str:
        return address()

    def prepare(self) -> None:
        if importlib.util.find_spec("aiosmtpd") is None:
            raise DevstackError(
                f"smtp: the aiosmtpd package is not installed for {sys.executable}; "
                f"run: {sys.executable} -m pip install aiosmtpd"
            )
        mailbox.Maildir(str(self.maildir), create=True)

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"{HOST}:{self.port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(self.maildir),
        ]

    def check(self) -> str:
        return send_and_read_back(maildir=self.maildir)
