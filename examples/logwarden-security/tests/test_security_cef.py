"""The ``cef`` parser: table-driven cases, registration through the host's catalog."""

from __future__ import annotations

import pytest
from logwarden_security.cef import CefParser, parse_extension

from app.core.errors import ParseError
from app.core.parsing import FormatDetector
from app.core.parsing.base import RecordContext
from app.core.parsing.catalog import BUILTIN, ParserCatalog

CTX = RecordContext(event_id="e1", observed_ts=1_700_000_000.0, service=None, source_name="fw-1")

FAILED_LOGIN = ("CEF:0|Acme|VPN Gateway|2.1|4625|Failed login|7|src=203.0.113.9 spt=51515 "
                "suser=alice outcome=failure rt=1700000123456 msg=bad password for alice")


def test_failed_login_maps_onto_the_canonical_event() -> None:
    event = CefParser("UTC").parse(FAILED_LOGIN, CTX)
    assert event.service == "vpn-gateway"
    assert event.ts == 1_700_000_123.456
    assert event.message == "Failed login: bad password for alice"
    assert event.severity_number == 17 and event.is_error
    assert event.attrs["source_ip"] == "203.0.113.9"
    assert event.attrs["source_port"] == 51515
    assert event.attrs["user"] == "alice"
    assert event.attrs["auth_result"] == "failure"
    assert event.attrs["cef"]["signature_id"] == "4625"
    assert event.parser == "cef"


@pytest.mark.parametrize(("text", "expected"), [
    ("a=1 b=two words c=x", {"a": "1", "b": "two words", "c": "x"}),
    (r"msg=a\=b path=C:\\temp", {"msg": "a=b", "path": "C:\\temp"}),
    ("", {}),
])
def test_extension_pairs(text: str, expected: dict[str, str]) -> None:
    assert parse_extension(text) == expected


def test_syslog_prefix_escaped_pipes_and_named_severity() -> None:
    line = (r"<134>Nov 22 04:00:00 sso-1 CEF:0|Acme|Single\|Sign-On|1|100|Login|High|"
            "suser=bob src=198.51.100.7 outcome=success")
    event = CefParser().parse(line, CTX._replace(service="sso"))
    assert event.service == "sso"  # a declared service wins over the product
    assert event.host == "sso-1"
    assert event.attrs["cef"]["product"] == "Single|Sign-On"
    assert event.attrs["auth_result"] == "success"
    assert event.severity_number == 17


@pytest.mark.parametrize("line", [
    "not cef at all",
    "CEF:0|Acme|VPN|1|100|too few fields",
    "CEF:0|Acme|VPN|1|100|Login|11|src=1.2.3.4",
    "CEF:0|Acme|VPN|1|100|Login|5|rt=yesterday",
])
def test_bad_lines_raise_parse_error_only(line: str) -> None:
    with pytest.raises(ParseError):
        CefParser().parse(line, CTX)


def test_declared_format_through_a_catalog_with_the_plugin_registered() -> None:
    catalog = ParserCatalog(factories={**BUILTIN, "cef": CefParser})
    event = FormatDetector(catalog).parse(FAILED_LOGIN, CTX, declared="cef")
    assert event.attrs["user"] == "alice"
