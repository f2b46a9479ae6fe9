"""severity: OTel numbers from number, text, HTTP status or keywords; is_error."""

from __future__ import annotations

import pytest

from app.core.enrichment.severity import SeverityEnricher, severity_from_keywords
from app.core.events import HttpInfo, LogEvent
from app.core.parsing.base import RecordContext
from app.core.parsing.http_access import HttpAccessParser
from app.core.severity import DEBUG, ERROR, FATAL, INFO, WARN


def make_event(**fields: object) -> LogEvent:
    base: dict[str, object] = {"event_id": "e1", "ts": 0.0, "observed_ts": 0.0,
                               "service": "api", "message": "hello", "parser": "json"}
    base.update(fields)
    return LogEvent(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "number", "text", "is_error"), [
    # the source's own number wins, its text is kept
    ({"severity_number": 17, "severity_text": "Error"}, ERROR, "Error", True),
    ({"severity_number": 13, "severity_text": "WARNING"}, WARN, "WARNING", False),
    ({"severity_number": 23, "severity_text": "alert"}, 23, "alert", True),
    # no number: from the text, any case and alias, original text kept
    ({"severity_text": "warning"}, WARN, "warning", False),
    ({"severity_text": "ERR"}, ERROR, "ERR", True),
    ({"severity_text": "CRITICAL"}, FATAL, "CRITICAL", True),
    ({"severity_text": "notice"}, INFO + 1, "notice", False),
    ({"severity_text": " debug "}, DEBUG, " debug ", False),
    # no number, no known text: from the HTTP status
    ({"http": HttpInfo(status=503)}, ERROR, "ERROR", True),
    ({"http": HttpInfo(status=429)}, WARN, "WARN", False),
    ({"http": HttpInfo(status=404)}, INFO, "INFO", False),
    ({"http": HttpInfo(status=200)}, INFO, "INFO", False),
    # text beats status when the line has a level (an app's request log)
    ({"severity_text": "debug", "http": HttpInfo(status=500)}, DEBUG, "debug", True),
    # no number, text or status: keywords of the message
    ({"message": "Traceback (most recent call last):"}, ERROR, "ERROR", True),
    ({"message": "disk almost full WARNING"}, WARN, "WARN", False),
    ({"message": "kernel PANIC at 0x1"}, FATAL, "FATAL", True),
    ({"message": "all good"}, INFO, "INFO", False),
    ({"severity_text": "verbose", "message": "nothing to see"}, INFO, "verbose", False),
    # out-of-range numbers are ignored
    ({"severity_number": 99, "severity_text": "error"}, ERROR, "error", True),
    ({"severity_number": -3, "message": "ERROR boom"}, ERROR, "ERROR", True),
])
def test_severity_table(fields: dict[str, object], number: int, text: str,
                        is_error: bool) -> None:
    event = make_event(**fields)
    SeverityEnricher().enrich(event)
    assert (event.severity_number, event.severity_text, event.is_error) == (
        number, text, is_error)


def access_event(line: str) -> LogEvent:
    ctx = RecordContext(event_id="e1", observed_ts=0.0, service="web", source_name="web-1")
    return HttpAccessParser().parse(line, ctx)


LINE = '83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /x HTTP/1.1" {} 0 "-" "curl/8.4.0"'


@pytest.mark.parametrize(("status", "warn_404", "number", "is_error"), [
    (404, False, INFO, False),  # routine: scanners, stale links
    (404, True, WARN, False),
    (403, False, WARN, False),
    (500, False, ERROR, True),
    (502, True, ERROR, True),
    (301, False, INFO, False),
])
def test_access_log_severity_follows_the_http_policy(status: int, warn_404: bool,
                                                    number: int, is_error: bool) -> None:
    event = access_event(LINE.format(status))
    SeverityEnricher(http_404_is_warn=warn_404).enrich(event)
    assert event.severity_number == number
    assert event.severity_text == {INFO: "INFO", WARN: "WARN", ERROR: "ERROR"}[number]
    assert event.is_error is is_error


def test_explicit_level_of_a_json_request_log_is_not_overridden_by_status() -> None:
    event = make_event(severity_number=WARN, severity_text="WARN", http=HttpInfo(status=404))
    SeverityEnricher().enrich(event)
    assert (event.severity_number, event.severity_text) == (WARN, "WARN")


def test_is_error_for_5xx_even_at_info_level() -> None:
    event = make_event(severity_number=INFO, severity_text="info", http=HttpInfo(status=500))
    SeverityEnricher().enrich(event)
    assert event.severity_number == INFO and event.is_error is True


def test_keyword_guess_is_the_plain_parsers() -> None:
    assert severity_from_keywords("an Exception occurred") == ERROR
    assert severity_from_keywords("x" * 600 + " ERROR") == 0  # same 512-char window
    assert severity_from_keywords("errors are fine") == 0  # whole words only


def test_config() -> None:
    enricher = SeverityEnricher.from_config({"http_404_is_warn": True, "default_number": 0})
    event = make_event(message="plain words")
    enricher.enrich(event)
    assert (event.severity_number, event.severity_text) == (0, "")
    assert enricher.http_404_is_warn is True
    with pytest.raises(ValueError, match=r"unknown option.*'http_404_warn'"):
        SeverityEnricher.from_config({"http_404_warn": True})
    with pytest.raises(ValueError, match="must be bool"):
        SeverityEnricher.from_config({"http_404_is_warn": "yes"})
    with pytest.raises(ValueError, match="0-24"):
        SeverityEnricher.from_config({"default_number": 30})


def test_status_fast_path_equals_the_general_one() -> None:
    """The per-status table against enrich() without it, for every status, both 404
    policies, access and other parsers, with and without a level of their own."""
    import itertools

    pairs = {warn: (SeverityEnricher(http_404_is_warn=warn),
                    SeverityEnricher(http_404_is_warn=warn)) for warn in (False, True)}
    for _, slow in pairs.values():
        slow._status_fields = {}
    for warn, status, parser, (number, text) in itertools.product(
            (False, True), [*range(-1, 1001), None, True], ("http_access", "json"),
            ((0, ""), (17, "ERROR"), (9, "info"))):
        fast, slow = pairs[warn]
        events = [LogEvent(event_id="e", ts=0.0, observed_ts=0.0, service="s",
                           message="m", severity_number=number, severity_text=text,
                           http=HttpInfo(status=status), parser=parser) for _ in range(2)]
        fast.enrich(events[0])
        slow.enrich(events[1])
        assert events[0] == events[1], (warn, status, parser, number)
