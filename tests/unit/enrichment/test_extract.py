"""extract: fields of sshd, sudo, su and nginx error lines, and user-defined extractors."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.enrichment.extract import ExtractEnricher, normalise_program
from app.core.events import HttpInfo, LogEvent


def make_event(message: str, program: str | None = None, **fields: object) -> LogEvent:
    base: dict[str, object] = {"event_id": "e1", "ts": 0.0, "observed_ts": 0.0,
                               "service": "unknown", "message": message,
                               "attrs": {"program": program} if program else {}}
    base.update(fields)
    return LogEvent(**base)  # type: ignore[arg-type]


def extracted(message: str, program: str | None = None,
              enricher: ExtractEnricher | None = None, **fields: object) -> dict[str, Any]:
    event = make_event(message, program, **fields)
    (enricher or ExtractEnricher()).enrich(event)
    return {k: v for k, v in event.attrs.items() if k != "program"}


F, S, I = "failure", "success", "invalid_user"  # noqa: E741

SSHD_CASES = [
    ("Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
     {"user": "admin", "source_ip": "1.2.3.4", "source_port": 22, "auth_method": "password",
      "auth_result": I}),
    # Loghub OpenSSH sample lines
    ("Failed password for root from 112.95.230.3 port 45378 ssh2",
     {"user": "root", "source_ip": "112.95.230.3", "source_port": 45378,
      "auth_method": "password", "auth_result": F}),
    ("Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
     {"user": "webmaster", "source_ip": "173.234.31.186", "source_port": 38926,
      "auth_method": "password", "auth_result": I}),
    ("Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
     {"user": "fztu", "source_ip": "119.137.62.142", "source_port": 49116,
      "auth_method": "password", "auth_result": S}),
    ("Accepted publickey for alice from 10.0.0.5 port 51234 ssh2: RSA SHA256:Xv1ab0c",
     {"user": "alice", "source_ip": "10.0.0.5", "source_port": 51234,
      "auth_method": "publickey", "auth_result": S}),
    ("Accepted keyboard-interactive/pam for bob from 2001:db8:85a3::8a2e:370:7334 port 2222 ssh2",
     {"user": "bob", "source_ip": "2001:db8:85a3::8a2e:370:7334", "source_port": 2222,
      "auth_method": "keyboard-interactive/pam", "auth_result": S}),
    ("Failed publickey for root from ::ffff:203.0.113.9 port 1022 ssh2",
     {"user": "root", "source_ip": "::ffff:203.0.113.9", "source_port": 1022,
      "auth_method": "publickey", "auth_result": F}),
    ("Invalid user x from 5.6.7.8 port 4242",
     {"user": "x", "source_ip": "5.6.7.8", "source_port": 4242, "auth_result": I}),
    ("Invalid user test9 from 52.80.34.196",
     {"user": "test9", "source_ip": "52.80.34.196", "auth_result": I}),
    ("input_userauth_request: invalid user test9 [preauth]",
     {"user": "test9", "auth_result": I}),
    ("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
     "rhost=173.234.31.186  user=root",
     {"user": "root", "source_ip": "173.234.31.186", "auth_result": F}),
    ("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
     "rhost=host-1.example.net",
     {"source_host": "host-1.example.net", "auth_result": F}),  # a name, not an address
    ("Disconnected from authenticating user root 1.2.3.4 port 5 [preauth]",
     {"user": "root", "source_ip": "1.2.3.4", "source_port": 5}),
    ("Disconnected from invalid user admin 198.51.100.7 port 41000 [preauth]",
     {"user": "admin", "source_ip": "198.51.100.7", "source_port": 41000, "auth_result": I}),
    ("Connection closed by authenticating user root 2001:db8::1 port 60000 [preauth]",
     {"user": "root", "source_ip": "2001:db8::1", "source_port": 60000}),
    ("Connection closed by 203.0.113.5 port 52000 [preauth]",
     {"source_ip": "203.0.113.5", "source_port": 52000}),
    ("Received disconnect from 1.2.3.4 port 22:11: Bye Bye [preauth]",
     {"source_ip": "1.2.3.4", "source_port": 22}),
    ("message repeated 2 times: [ Failed password for root from 9.9.9.9 port 1 ssh2]",
     {"user": "root", "source_ip": "9.9.9.9", "source_port": 1, "auth_method": "password",
      "auth_result": F}),
    ("error: maximum authentication attempts exceeded for invalid user oracle from "
     "192.0.2.44 port 5000 ssh2 [preauth]",
     {"user": "oracle", "source_ip": "192.0.2.44", "source_port": 5000, "auth_result": I}),
    ("reverse mapping checking getaddrinfo for 1-2-3-4.example.com [1.2.3.4] failed - "
     "POSSIBLE BREAK-IN ATTEMPT!", {"source_ip": "1.2.3.4"}),
    ("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
     {"user": "alice"}),
    ("Server listening on 0.0.0.0 port 22.", {}),
]

SUDO_CASES = [
    ("alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
     {"user": "alice", "target_user": "root", "command": "/bin/ls", "tty": "pts/0",
      "auth_result": S}),
    ("    bob : TTY=pts/3 ; PWD=/srv ; USER=postgres ; ENV=PGDATA=/x ; "
     "COMMAND=/usr/bin/psql -c 'x'",
     {"user": "bob", "target_user": "postgres", "command": "/usr/bin/psql -c 'x'",
      "tty": "pts/3", "auth_result": S}),
    ("alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
     "COMMAND=/bin/ls", {"user": "alice", "target_user": "root", "command": "/bin/ls",
                         "tty": "pts/0", "auth_result": F}),
    ("mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
     {"user": "mallory", "target_user": "root", "command": "/bin/sh", "tty": "pts/1",
      "auth_result": F}),
    ("pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 "
     "tty=/dev/pts/0 ruser=alice rhost=  user=alice", {"user": "alice", "auth_result": F}),
    ("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
     {"user": "alice", "target_user": "root"}),
]

SU_CASES = [
    ("'su root' failed for lonvick on /dev/pts/8",
     {"user": "lonvick", "target_user": "root", "tty": "/dev/pts/8", "auth_result": F}),
    ("(to root) alice on pts/1",
     {"user": "alice", "target_user": "root", "tty": "pts/1", "auth_result": S}),
    ("FAILED SU (to root) alice on pts/1",
     {"user": "alice", "target_user": "root", "tty": "pts/1", "auth_result": F}),
    ("Successful su for postgres by alice", {"user": "alice", "target_user": "postgres",
                                              "auth_result": S}),
    ("pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/1 "
     "ruser=alice rhost=  user=root", {"user": "alice", "target_user": "root",
                                        "auth_result": F}),
]


@pytest.mark.parametrize(("message", "fields"), SSHD_CASES)
def test_sshd(message: str, fields: dict[str, Any]) -> None:
    assert extracted(message, "sshd") == fields


@pytest.mark.parametrize(("message", "fields"), SUDO_CASES)
def test_sudo(message: str, fields: dict[str, Any]) -> None:
    assert extracted(message, "sudo") == fields


@pytest.mark.parametrize(("message", "fields"), SU_CASES)
def test_su(message: str, fields: dict[str, Any]) -> None:
    assert extracted(message, "su") == fields


@pytest.mark.parametrize(("program", "normalised"), [
    ("sshd", "sshd"), ("sshd(pam_unix)", "sshd"), ("/usr/sbin/sshd", "sshd"),
    ("sshd[1234]", "sshd"), ("SUDO", "sudo"), ("sshd-session", "sshd-session"), ("su", "su"),
])
def test_program_names(program: str, normalised: str) -> None:
    assert normalise_program(program) == normalised


def test_program_name_variants_select_the_rules() -> None:
    line = ("authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= "
            "rhost=218.188.2.4  user=root")  # FORMATS.md §3: tag `sshd(pam_unix)`
    expected = {"user": "root", "source_ip": "218.188.2.4", "auth_result": F}
    assert extracted(line, "sshd(pam_unix)") == expected
    assert extracted(line, "sshd-session") == expected  # OpenSSH >= 9.8
    # "sudo" is not "su": the su rules do not run on sudo's lines and vice versa
    assert extracted("(to root) alice on pts/1", "sudo") == {}


@pytest.mark.parametrize(("message", "fields"), [
    ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
     "euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root",
     {"user": "root", "source_ip": "218.188.2.4", "auth_result": F}),
    ("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
     {"user": "lonvick", "target_user": "root", "tty": "/dev/pts/8", "auth_result": F}),
    ("Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
     {"user": "admin", "source_ip": "1.2.3.4", "source_port": 22, "auth_method": "password",
      "auth_result": I}),
    ("Failed to connect to database: timeout", {}),
    ("job finished in 3s", {}),
])
def test_without_a_program_the_message_shape_decides(message: str,
                                                     fields: dict[str, Any]) -> None:
    assert extracted(message) == fields


def test_an_unknown_program_is_trusted_no_shape_guessing() -> None:
    assert extracted("Failed password for root from 1.2.3.4 port 22 ssh2", "cron") == {}


NGINX_ERROR = (
    '2024/03/01 10:00:00 [error] 123#0: *5 connect() failed (111: Connection refused) while '
    'connecting to upstream, client: 2001:db8::7, server: example.com, request: '
    '"GET /api/users/12?x=1 HTTP/1.1", upstream: "http://127.0.0.1:8080/api/users/12", '
    'host: "example.com"')


def test_nginx_error_line() -> None:
    event = make_event(NGINX_ERROR)
    ExtractEnricher().enrich(event)
    assert event.attrs == {"source_ip": "2001:db8::7",
                           "upstream": "http://127.0.0.1:8080/api/users/12"}
    assert event.http == HttpInfo(method="GET", path="/api/users/12?x=1",
                                  protocol="HTTP/1.1", client_ip="2001:db8::7")


def test_nginx_error_line_keeps_existing_http_fields() -> None:
    event = make_event(NGINX_ERROR, "nginx", http=HttpInfo(client_ip="10.1.1.1", path="/p"))
    ExtractEnricher().enrich(event)
    assert event.http is not None
    assert (event.http.client_ip, event.http.path, event.http.method) == (
        "10.1.1.1", "/p", "GET")


def test_access_log_events_skip_shape_detection() -> None:
    event = make_event("GET /Failed password for root from 1.2.3.4 port 22 HTTP/1.1",
                       http=HttpInfo(path="/"))
    ExtractEnricher().enrich(event)
    assert event.attrs == {}


def test_extracted_fields_never_overwrite_parser_fields() -> None:
    event = make_event("Accepted password for alice from 1.2.3.4 port 22 ssh2", "sshd")
    event.attrs["user"] = "from-parser"
    ExtractEnricher().enrich(event)
    assert event.attrs["user"] == "from-parser" and event.attrs["source_ip"] == "1.2.3.4"


def test_user_defined_extractors() -> None:
    enricher = ExtractEnricher(extractors=[
        {"program": "MyApp", "regex": r"order (?P<order_id>\d+) failed", "contains": "order "},
        {"service": "billing", "regex": r"invoice=(?P<invoice>\S+)(?: amount=(?P<amount>\S+))?"},
        {"source": "edge-1", "regex": r"tenant=(?P<tenant>\w+)"},
    ])
    assert extracted("order 42 failed: card declined", "myapp[7]", enricher) == {
        "order_id": "42"}
    assert extracted("order 42 failed", "otherapp", enricher) == {}
    assert extracted("invoice=INV-9 sent", None, enricher, service="billing") == {
        "invoice": "INV-9"}  # an unmatched optional group adds nothing
    assert extracted("tenant=acme ok", None, enricher, source_name="edge-1") == {
        "tenant": "acme"}
    assert extracted("tenant=acme ok", None, enricher, source_name="edge-2") == {}
    # built-ins and user rules both run
    both = ExtractEnricher(extractors=[{"program": "sshd", "regex": r"(?P<proto>ssh\d)$"}])
    assert extracted("Failed password for root from 1.2.3.4 port 22 ssh2", "sshd",
                     both)["proto"] == "ssh2"


@pytest.mark.parametrize(("spec", "error"), [
    ({"program": "x", "regex": "(?P<a>unclosed"},
     r"extractors\[0\]: invalid regex '\(\?P<a>unclosed': missing \)"),
    ({"program": "x", "regex": r"\d+"}, r"extractors\[0\]: regex .* has no named group"),
    ({"regex": "(?P<a>x)"}, r"extractors\[0\]: needs exactly one of program, service, source"),
    ({"program": "x", "service": "y", "regex": "(?P<a>x)"}, "needs exactly one"),
    ({"program": "x", "regex": "(?P<a>x)", "flags": "i"}, r"unknown key\(s\) 'flags'"),
    ({"program": "", "regex": "(?P<a>x)"}, "program must be a non-empty string"),
    ({"program": "x", "regex": "(?P<a>x)", "contains": 3}, "contains must be"),
    ("sshd", "must be a mapping"),
])
def test_user_extractor_validation_names_the_index(spec: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ExtractEnricher(extractors=[spec])
    with pytest.raises(ValueError, match=error.replace(r"\[0\]", r"\[1\]")):
        ExtractEnricher(extractors=[{"program": "ok", "regex": "(?P<a>x)"}, spec])


def test_config() -> None:
    enricher = ExtractEnricher.from_config({"builtin": False, "extractors": [
        {"program": "app", "regex": r"id=(?P<item>\w+)"}]})
    assert extracted("Failed password for root from 1.2.3.4 port 22 ssh2", "sshd",
                     enricher) == {}
    assert extracted("id=7", "app", enricher) == {"item": "7"}
    with pytest.raises(ValueError, match="unknown option"):
        ExtractEnricher.from_config({"extractor": []})
