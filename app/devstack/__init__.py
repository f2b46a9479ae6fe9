"""Local backing services for development and integration tests (``python -m app.devstack``).

Pinned versions and default ports: :mod:`app.devstack.versions`.
Endpoints for tests: :func:`app.devstack.services.endpoints`.
"""
