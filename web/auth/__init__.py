"""The web's security layer: who is asking (``Principal``), what they may do (``Role``,
``require``), CSRF tokens, and the OIDC login views.

Importing this package installs the session and authentication middlewares on the
worker's aiohttp application and registers ``/login``, ``/auth/callback``, ``/logout``
and ``/api/v1/me``. Contract for views:

- ``request["principal"]`` is a ``Principal`` on every request outside ``PUBLIC_PATHS``;
- ``require(request, Role.OPERATOR)`` returns it or raises a 403 (problem or page);
- ``csrf_token(request)`` goes into forms (hidden ``_csrf``) and fetches (``X-CSRF-Token``).
"""

from web.auth.middleware import (
    CSRF_FIELD,
    CSRF_HEADER,
    INGEST_ROUTES,
    METRICS_PATH,
    PUBLIC_PATHS,
    Forbidden,
    csrf_token,
    principal_of,
    public_paths,
    require,
)
from web.auth.principal import Principal, Role

from web.auth import oidc  # isort: skip  # registers the login views

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "INGEST_ROUTES", "METRICS_PATH", "PUBLIC_PATHS",
           "Forbidden", "Principal", "Role", "csrf_token", "oidc", "principal_of",
           "public_paths", "require"]
