"""Python ``logging`` records (and the Java-ish layouts that look like them), FORMATS.md §6.

First-line layouts::

    WARNING:root:disk almost full                                   BASIC_FORMAT
    2026-11-22 03:46:58,893 - app.db - ERROR - query failed         asctime - name - level - msg
    2026-11-22 03:46:58,893 ERROR app.db: query failed              asctime level name: msg
    2015-10-18 18:01:47,978 INFO [main] org.apache.Foo: msg         log4j / Hadoop
    2015-07-29 17:41:44,747 - INFO  [thread:Class@774] - msg        Zookeeper
    2026-11-22 03:46:58,893 [ERROR] msg                             timestamp + level fallback

``asctime`` is local time without an offset: the instance's ``tz`` applies (an explicit
``+hh:mm``/``Z`` after the time wins). A record folded from several lines
(``app.core.multiline``) keeps them all in the message; a Python traceback (chained
and exception groups too) or a Java stack trace becomes ``attrs["exception"]``.
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo

from app.core.errors import ParseError, Reason
from app.core.events import LogEvent
from app.core.parsing.base import RecordContext
from app.core.severity import DEBUG, ERROR, FATAL, INFO, TRACE, WARN, severity_number
from app.core.timeformat import CACHE_MAX, resolve_tz, wall_epoch

_KNOWN = r"(?:CRITICAL|FATAL|ERROR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE|SEVERE|Level \d{1,3})"
_ANY = r"(?:[A-Z][A-Z0-9_]{1,15}|Level \d{1,3})"
_BASIC = re.compile(rf"({_ANY}):([^\s:]+):(.*)")
_BASIC_KNOWN = re.compile(rf"{_KNOWN}:[^\s:]+:")
_TS = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:[,.](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?")
# what may follow the timestamp; every layout defines the groups lvl, name, thr and msg
_LVL_ANY, _LVL_KNOWN = rf"(?P<lvl>{_ANY})", rf"(?P<lvl>{_KNOWN})"
_NO_NAME, _NO_THREAD, _MSG = "(?P<name>)", "(?P<thr>)", "(?P<msg>.*)"
_RESTS = (
    # - INFO  [thread:Class@line] - msg                     (Zookeeper)
    re.compile(rf" - {_LVL_ANY} +\[(?P<thr>.*?)\] - {_NO_NAME}{_MSG}"),
    # - name - LEVEL - msg                                  (the common Python layout)
    re.compile(rf" - (?P<name>.+?) +- +{_LVL_ANY} +- {_NO_THREAD}{_MSG}"),
    # INFO [thread] logger: msg / logger - msg              (log4j, Hadoop)
    re.compile(rf" {_LVL_KNOWN} +\[(?P<thr>[^\]]*)\] +(?P<name>[^\s:\[]+)(?::| -) {_MSG}"),
    # LEVEL name: msg
    re.compile(rf" {_LVL_KNOWN} +(?P<name>[^\s:\[][^\s:]*){_NO_THREAD}: {_MSG}"),
    # LEVEL msg, [LEVEL] msg, - LEVEL - msg                 (timestamp + level only)
    re.compile(rf" (?:- )?\[?{_LVL_KNOWN}\]?(?: -|:)? +{_NO_NAME}{_NO_THREAD}{_MSG}"),
)
_TRACEBACK = "Traceback (most recent call last):"
_EXC_TYPE = re.compile(r"[A-Za-z_][\w.]*")
_JAVA_EXC = re.compile(r"([A-Za-z_$][\w$]*(?:\.[\w$]+)+)(?:: (.*))?")
_BANDS = (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)
_POW10 = tuple(10.0 ** n for n in range(10))  # a fraction has 1-9 digits


def python_severity(level: str) -> int:
    """OTel number of a ``levelname``: names, aliases and ``Level 25``-style numbers."""
    number = severity_number(level)
    if number or not level:
        return number
    digits = level[6:] if level.startswith("Level ") else level
    if not (digits.isascii() and digits.isdigit()):
        return 0
    value = int(digits)
    if value <= 0:
        return 0
    band, step = divmod(value, 10)  # 10 DEBUG, 20 INFO, 30 WARNING, ... (4 OTel steps each)
    return min(_BANDS[min(band, 5)] + (step * 4) // 10, 24) if band <= 5 else 24


class PythonLoggingParser:
    """Python logging (BASIC_FORMAT and the common asctime layouts) plus Java-ish lines."""

    name = "python"

    def __init__(self, tz: str | tzinfo = "UTC") -> None:
        self._tz = resolve_tz(tz)
        self._seconds: dict[str, float] = {}

    def matches(self, text: str) -> bool:
        """Cheap check for auto-detection (first line only)."""
        if _BASIC_KNOWN.match(text):
            return True
        stamp = _TS.match(text)
        return stamp is not None and any(r.match(text, stamp.end()) for r in _RESTS)

    def parse(self, text: str, ctx: RecordContext) -> LogEvent:
        newline = text.find("\n")
        first = (text if newline < 0 else text[:newline]).rstrip("\r")
        ts = ctx.observed_ts
        attrs: dict[str, object] = {}
        basic = _BASIC.match(first)
        if basic is not None:
            level, logger, message = basic.groups()
        else:
            level, logger, message, ts = self._timestamped(first, attrs)
        if newline >= 0:
            rest = text[newline + 1:]
            message = f"{message}\n{rest}"
            exception = python_exception(rest) or java_exception(rest)
            if exception is not None:
                attrs["exception"] = exception
        number = python_severity(level)
        # positional, in LogEvent's field order: keyword arguments cost twice as much here
        return LogEvent(
            ctx.event_id, ts, ctx.observed_ts,
            ctx.service or ctx.source_name or "unknown",  # service
            message, number, level, None, None, "kafka", ctx.source_name,  # .. source_name
            logger or None, None, None, None, None, None, False,  # logger .. is_error
            {}, attrs, self.name)  # service_meta, attrs, parser

    def _timestamped(self, first: str, attrs: dict[str, object]) -> tuple[str, str, str, float]:
        stamp = _TS.match(first)
        if stamp is not None:
            for regex in _RESTS:
                found = regex.match(first, stamp.end())
                if found is not None:
                    level, logger, thread, message = found.group("lvl", "name", "thr", "msg")
                    if thread:
                        logger = _thread_class(thread, attrs) or logger
                    return level, logger, message, self._epoch(*stamp.groups())
        raise ParseError(Reason.FORMAT_MISMATCH, "line is not a Python logging record",
                         parser=self.name)

    def _epoch(self, second: str, fraction: str | None, zone: str | None) -> float:
        key = second if zone is None else second + zone
        epoch: float | None = self._seconds.get(key)
        if epoch is None:
            offset = 0
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                hours, minutes = int(zone[1:3]), int(zone[-2:])
                if hours > 23 or minutes > 59:
                    raise ParseError(Reason.BAD_FIELD, f"bad UTC offset {zone!r}",
                                     parser=self.name)
                offset = sign * (hours * 3600 + minutes * 60)
            try:
                epoch = wall_epoch(int(second[0:4]), int(second[5:7]), int(second[8:10]),
                                   int(second[11:13]), int(second[14:16]), int(second[17:19]),
                                   self._tz if zone is None else UTC, offset)
            except ValueError as exc:
                raise ParseError(Reason.BAD_FIELD, f"asctime {second!r}: {exc}",
                                 parser=self.name) from None
            if len(self._seconds) >= CACHE_MAX:
                self._seconds.clear()
            self._seconds[key] = epoch
        if fraction:
            return epoch + int(fraction) / _POW10[len(fraction)]
        return epoch


def _thread_class(thread: str, attrs: dict[str, object]) -> str:
    """``[main]`` is a thread; Zookeeper's ``[thread:Class@line]`` also names the logger."""
    head, colon, tail = thread.rpartition(":")
    cls, at, line = tail.partition("@")
    if colon and at and line.isascii() and line.isdigit() and len(line) < 10:
        attrs["thread"] = head
        attrs["line"] = int(line)
        return cls
    attrs["thread"] = thread
    return ""


def python_exception(rest: str) -> dict[str, str] | None:
    """``{"type", "message", "stack"}`` of a Python traceback in ``rest``, else None.

    With chained exceptions the last one (the one raised) is reported; with exception
    groups the outermost group. ``stack`` is everything from the first traceback line.
    """
    start = rest.find(_TRACEBACK)
    if start < 0:
        return None
    stack = rest[rest.rfind("\n", 0, start) + 1:]
    lines = stack.split("\n")
    best, best_indent = 0, len(stack)
    for index, line in enumerate(lines):
        if _TRACEBACK in line:
            indent = len(line) - len(line.lstrip(" |+-"))
            if indent <= best_indent:
                best, best_indent = index, indent
    prefix = lines[best][:best_indent].replace("+", "|")
    found: dict[str, str] = {"stack": stack}
    for index in range(best + 1, len(lines)):
        content = lines[index][len(prefix):]
        if not lines[index].startswith(prefix) or not content or content[0].isspace():
            continue
        kind, _, message = content.partition(":")
        if _EXC_TYPE.fullmatch(kind) is None:
            continue
        more = []
        for follow in lines[index + 1:]:
            if not follow.startswith(prefix):
                break
            more.append(follow[len(prefix):])
        found["type"] = kind
        found["message"] = "\n".join([message.removeprefix(" "), *more]).rstrip()
        break
    return found


def java_exception(rest: str) -> dict[str, str] | None:
    """``{"type", "message", "stack"}`` of a Java stack trace (``\\tat ...`` lines)."""
    if "\tat " not in rest and "    at " not in rest:
        return None
    for line in rest.split("\n", 8)[:8]:
        found = _JAVA_EXC.fullmatch(line.rstrip("\r"))
        if found is not None:
            stack = rest[rest.find(line):]
            return {"type": found.group(1), "message": found.group(2) or "", "stack": stack}
    return None
