"""Validating an extension's options with its pydantic model, errors as ``ValueError``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], options: Mapping[str, Any], *, prefix: str = "") -> M:
    """``model`` built from ``options``; ``ValueError("field: message; ...")`` if not."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(options)'}: {e['msg']}"
                           for e in exc.errors())
        raise ValueError(prefix + fields) from None
