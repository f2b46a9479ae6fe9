"""Registry of dev-stack services and the endpoints tests connect to.

Example: ``services.endpoints()["elasticsearch"]`` is ``'http://127.0.0.1:9200'``.
"""

from __future__ import annotations

from app.devstack.base import Service
from app.devstack.config import DevstackError, Layout
from app.devstack.elasticsearch import Elasticsearch
from app.devstack.kafka import Kafka
from app.devstack.mongo import Mongo
from app.devstack.oidc import Oidc
from app.devstack.redis import Redis
from app.devstack.smtp import Smtp, maildir_path
from app.devstack.versions import SERVICE_ORDER

_CLASSES: dict[str, type[Service]] = {
    cls.name: cls for cls in (Kafka, Elasticsearch, Mongo, Redis, Oidc, Smtp)
}
assert tuple(_CLASSES) == SERVICE_ORDER

NAMES: tuple[str, ...] = SERVICE_ORDER


def get(name: str, layout: Layout | None = None) -> Service:
    """Service object for ``name`` (one of :data:`NAMES`)."""
    try:
        return _CLASSES[name](layout)
    except KeyError:
        raise KeyError(f"unknown service {name!r}; choose from {', '.join(NAMES)}") from None


def select(names: list[str] | None, layout: Layout | None = None) -> list[Service]:
    """Services in start order; all of them when ``names`` is empty."""
    wanted = names or list(NAMES)
    unknown = sorted(set(wanted) - set(NAMES))
    if unknown:
        raise DevstackError(
            f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}"
        )
    return [get(name, layout) for name in NAMES if name in wanted]


def endpoints(layout: Layout | None = None) -> dict[str, str]:
    """Client addresses of every service (ports follow LOGWARDEN_DEVSTACK_<SVC>_PORT).

    Keys: kafka (bootstrap host:port), elasticsearch, mongo, redis, oidc (issuer URL),
    smtp (host:port) and smtp_maildir (where the SMTP sink delivers).
    """
    result = {name: get(name, layout).endpoint() for name in NAMES}
    result["smtp_maildir"] = str(maildir_path(layout))
    return result
