"""Options: typed reading of an enricher's options, unknown keys rejected."""

from __future__ import annotations

import pytest

from app.core.enrichment.options import Options


def test_typed_get_and_defaults() -> None:
    opts = Options("demo", {"size": 5, "flag": True, "names": ["a"]})
    assert opts.get("size", int, 1) == 5
    assert opts.get("flag", bool, False) is True
    assert opts.get("names", list, []) == ["a"]
    assert opts.get("absent", str, "dflt") == "dflt"
    opts.done()


def test_errors_name_the_enricher_and_the_key() -> None:
    with pytest.raises(ValueError, match="enricher 'demo': option 'size' must be int, got str"):
        Options("demo", {"size": "5"}).get("size", int, 1)
    with pytest.raises(ValueError, match="must be int, got bool"):
        Options("demo", {"size": True}).get("size", int, 1)
    with pytest.raises(ValueError, match="must be >= 1"):
        Options("demo", {"size": 0}).positive_int("size", 1)
    with pytest.raises(ValueError, match="options must be a mapping"):
        Options("demo", ["size"])  # type: ignore[arg-type]
    opts = Options("demo", {"sise": 3})
    opts.get("size", int, 1)
    with pytest.raises(ValueError, match="unknown option\\(s\\) 'sise'; known: size"):
        opts.done()


def test_none_means_no_options() -> None:
    opts = Options("demo", None)
    assert opts.raw("x") is None
    opts.done()
