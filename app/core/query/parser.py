"""KQL-like query text -> a checked tree (``app.core.query.ast``).

Grammar (operators case-insensitive; adjacent terms mean AND)::

    query   := or EOF
    or      := and (OR and)*
    and     := not ((AND)? not)*
    not     := NOT not | primary
    primary := '(' or ')' | FIELD ':' values | FIELD op value | FIELD ':' op value | value
    values  := value | '(' vor ')'          vor := vand (OR vand)*
    vand    := vnot ((AND)? vnot)*           vnot := NOT vnot | '(' vor ')' | value
    value   := WORD | "quoted phrase"        op := > | >= | < | <=

Words may use ``*`` and ``?`` wildcards and ``\\`` to escape any character. Every
mistake raises ``QueryError`` with the column (1-based) where it was noticed.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass

from app.core.query.ast import (
    And,
    Exists,
    Match,
    MatchAll,
    Node,
    Not,
    Or,
    Pattern,
    Range,
    Text,
)
from app.core.query.errors import QueryError
from app.core.query.fields import KNOWN_NAMES, LEVELS, Field, Kind, resolve
from app.core.timeparse import epoch_from_iso

MAX_LENGTH = 4096
MAX_DEPTH = 32
_OPS = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}
_SPECIAL = set('():<>="\\')
_DATE_MATH = re.compile(r"now(?:[+-]\d+[smhdwMy])*(?:/[smhdwMy])?")
_STATUS_CLASS = re.compile(r"[1-5][xX][xX]")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word, phrase, (, ), :, op, and, or, not, eof
    column: int
    text: str = ""
    pattern: Pattern | None = None
    end: int = 0  # column just after the token


def describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of query"
    if token.kind == "phrase":
        return f'"{token.text}"'
    return f"'{token.text}'"


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, col, ch))
            i += 1
        elif ch == ":":
            tokens.append(Token(":", col, ":", end=col + 1))
            i += 1
        elif ch in "<>":
            op = source[i:i + 2] if source[i + 1:i + 2] == "=" else ch
            tokens.append(Token("op", col, op))
            i += len(op)
        elif ch == "=":
            raise QueryError("unexpected '=' (use ':' for equality, or >=, <=)", col)
        elif ch == '"':
            i, token = _phrase(source, i)
            tokens.append(token)
        else:
            i, token = _word(source, i)
            tokens.append(token)
    tokens.append(Token("eof", n + 1))
    return tokens


def _phrase(source: str, start: int) -> tuple[int, Token]:
    i, chars = start + 1, []
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source):
            chars.append(source[i + 1])
            i += 2
            continue
        if ch == '"':
            text = "".join(chars)
            return i + 1, Token("phrase", start + 1, text,
                                Pattern(text, ((text, False),), phrase=True))
        chars.append(ch)
        i += 1
    raise QueryError("unterminated quoted phrase starting", start + 1)


def _word(source: str, start: int) -> tuple[int, Token]:
    i, parts, literal, text = start, [], [], []
    while i < len(source):
        ch = source[i]
        if ch.isspace() or (ch in _SPECIAL and ch != "\\"):
            break
        if ch == "\\":
            if i + 1 >= len(source):
                raise QueryError("a backslash must escape a character", i + 1)
            literal.append(source[i + 1])
            text.append(source[i + 1])
            i += 2
            continue
        if ch in "*?":
            if literal:
                parts.append(("".join(literal), False))
                literal = []
            parts.append((ch, True))
        else:
            literal.append(ch)
        text.append(ch)
        i += 1
    if literal:
        parts.append(("".join(literal), False))
    word = "".join(text)
    kind = "word"
    raw = source[start:i]
    if raw.upper() in ("AND", "OR", "NOT"):
        kind = raw.lower()
    return i, Token(kind, start + 1, word, Pattern(word, tuple(parts)), end=i + 1)


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def unexpected(self, token: Token, hint: str = "") -> QueryError:
        return QueryError(f"unexpected {describe(token)}", token.column, hint)

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"parentheses nested deeper than {MAX_DEPTH}", token.column)

    # ---------------------------------------------------------------- boolean structure
    def query(self) -> Node:
        if self.peek.kind == "eof":
            return MatchAll()
        node = self.or_()
        if self.peek.kind != "eof":
            raise self.unexpected(self.peek)
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek.kind == "or":
            self.next()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while True:
            kind = self.peek.kind
            if kind == "and":
                self.next()
                items.append(self.not_())
            elif kind in ("word", "phrase", "(", "not"):
                items.append(self.not_())
            else:
                break
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.peek.kind == "not":
            token = self.next()
            self.enter(token)
            inner = self.not_()
            self.depth -= 1
            return Not(inner)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek
        if token.kind == "(":
            self.next()
            self.enter(token)
            if self.peek.kind == ")":
                raise self.unexpected(self.peek, "empty parentheses")
            node = self.or_()
            self.depth -= 1
            if self.peek.kind != ")":
                raise self.unexpected(self.peek, f"expected ')' to close the '(' of column "
                                                 f"{token.column}")
            self.next()
            return node
        if token.kind in ("word", "phrase"):
            self.next()
            following = self.peek
            if token.kind == "word" and following.kind in (":", "op"):
                return self.field_expr(token)
            assert token.pattern is not None
            return Text(token.pattern)
        raise self.unexpected(token, self._expected())

    def _expected(self) -> str:
        return "expected a word, a \"phrase\", field:value or '('"

    # ---------------------------------------------------------------- field expressions
    def field_expr(self, name: Token) -> Node:
        field = resolve(name.text)
        if field is None or (name.pattern is not None and name.pattern.is_wildcard):
            known = ", ".join(KNOWN_NAMES)
            raise QueryError(f"unknown field '{name.text}' (known: {known})", name.column)
        sep = self.next()
        if sep.kind == "op":
            return self.range_(field, sep)
        if self.peek.kind == "op":
            return self.range_(field, self.next())
        if self.peek.kind == "(":
            return self.value_or(field)
        return self.value(field)

    def range_(self, field: Field, op: Token) -> Node:
        token = self.next()
        if token.kind not in ("word", "phrase"):
            raise self.unexpected(token, f"expected a value after '{op.text}'")
        token = self._glue_times(token)
        assert token.pattern is not None
        if token.pattern.is_wildcard:
            raise QueryError(f"a range cannot use wildcards ('{token.text}')", token.column)
        return Range(field, _OPS[op.text], _range_value(field, token))

    def _glue_times(self, token: Token) -> Token:
        """``ts>=2024-01-01T10:00:00Z`` unquoted: join ``word:word`` typed without spaces."""
        text, end = token.text, token.end
        while token.kind == "word" and self.peek.kind == ":" and self.peek.column == end:
            after = self.tokens[self.pos + 1]
            if after.kind != "word" or after.column != self.peek.end:
                break
            self.pos += 2
            text, end = f"{text}:{after.text}", after.end
        if text == token.text:
            return token
        return Token("word", token.column, text, Pattern(text, ((text, False),)), end=end)

    def value_or(self, field: Field) -> Node:
        items = [self.value_and(field)]
        while self.peek.kind == "or":
            self.next()
            items.append(self.value_and(field))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def value_and(self, field: Field) -> Node:
        items = [self.value_not(field)]
        while self.peek.kind in ("and", "word", "phrase", "(", "not"):
            if self.peek.kind == "and":
                self.next()
            items.append(self.value_not(field))
        return items[0] if len(items) == 1 else And(tuple(items))

    def value_not(self, field: Field) -> Node:
        token = self.peek
        if token.kind == "not":
            self.next()
            self.enter(token)
            inner = self.value_not(field)
            self.depth -= 1
            return Not(inner)
        if token.kind == "(":
            self.next()
            self.enter(token)
            if self.peek.kind == ")":
                raise self.unexpected(self.peek, "empty parentheses")
            node = self.value_or(field)
            self.depth -= 1
            if self.peek.kind != ")":
                raise self.unexpected(self.peek, f"expected ')' to close the '(' of column "
                                                 f"{token.column}")
            self.next()
            return node
        return self.value(field)

    def value(self, field: Field) -> Node:
        token = self.next()
        if token.kind not in ("word", "phrase"):
            raise self.unexpected(token, f"expected a value for '{field.name}'")
        if self.peek.kind in (":", "op"):
            raise self.unexpected(self.peek, "quote values that contain ':', '<' or '>'")
        pattern = token.pattern
        assert pattern is not None
        if pattern.match_all and not pattern.phrase:
            return Exists(field)
        return Match(field, _check_value(field, token, pattern))


def _check_value(field: Field, token: Token, pattern: Pattern) -> Pattern:
    kind, text, col = field.kind, pattern.text, token.column
    if kind in (Kind.KEYWORD, Kind.TEXT, Kind.ANY):
        return pattern
    if pattern.is_wildcard:
        raise QueryError(f"'{field.name}' does not take wildcards (only '{field.name}:*')", col)
    if kind is Kind.NUMBER:
        _number(field, text, col)
    elif kind is Kind.STATUS:
        if not _STATUS_CLASS.fullmatch(text):
            _number(field, text, col)
    elif kind is Kind.LEVEL:
        if text.lower() not in LEVELS and not _is_int(text):
            raise QueryError(f"'{field.name}' takes trace, debug, info, warn, error or fatal, "
                             f"got '{text}'", col)
    elif kind is Kind.IP:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise QueryError(f"'{field.name}' takes an IP address or a CIDR network such as "
                             f"10.0.0.0/8, got '{text}'", col) from None
    elif kind is Kind.BOOL:
        if text.lower() not in ("true", "false"):
            raise QueryError(f"'{field.name}' takes true or false, got '{text}'", col)
    elif kind is Kind.DATE:
        raise QueryError(f"compare dates with >, >=, < or <= (e.g. {field.name}>=now-1h)", col)
    return pattern


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _number(field: Field, text: str, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not text.strip():
        raise QueryError(f"'{field.name}' takes a number, got '{text}'", column)
    return value


def _range_value(field: Field, token: Token) -> float | str:
    text, col = token.text, token.column
    kind = field.kind
    if kind is Kind.LEVEL:
        if text.lower() in LEVELS:
            return text.lower()
        if _is_int(text):
            return float(text)
        raise QueryError(f"'{field.name}' takes trace, debug, info, warn, error or fatal, "
                         f"got '{text}'", col)
    if kind is Kind.DATE:
        if _DATE_MATH.fullmatch(text) or _iso(text):
            return text
        raise QueryError(f"'{field.name}' takes an ISO 8601 time or now-15m style date math, "
                         f"got '{text}'", col)
    if kind in (Kind.NUMBER, Kind.STATUS):
        return _number(field, text, col)
    if kind is Kind.ANY:
        try:
            return _number(field, text, col)
        except QueryError:
            return text
    if kind in (Kind.KEYWORD, Kind.TEXT):
        return text
    raise QueryError(f"'{field.name}' cannot be compared with <, <=, > or >=", col)


def _iso(text: str) -> bool:
    try:
        epoch_from_iso(text)
    except (ValueError, OverflowError, TypeError):
        return False
    return True


def parse(source: str) -> Node:
    """Parse and check ``source``; raise ``QueryError`` (and nothing else) if it is wrong."""
    if len(source) > MAX_LENGTH:
        raise QueryError(f"the query is longer than {MAX_LENGTH} characters", MAX_LENGTH + 1)
    return _Parser(source).query()
