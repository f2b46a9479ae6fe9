"""The one error type of the query language: a message and the column it points at."""

from __future__ import annotations


class QueryError(ValueError):
    """A query the language cannot accept. ``column`` is 1-based (0: no position)."""

    def __init__(self, message: str, column: int = 0, hint: str = "") -> None:
        self.message, self.column, self.hint = message, column, hint
        text = f"{message} at column {column}" if column else message
        super().__init__(f"{text}; {hint}" if hint else text)
