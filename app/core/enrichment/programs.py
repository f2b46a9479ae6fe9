"""Built-in field extraction rules for well-known programs: sshd, sudo, su, nginx errors.

A rule has a ``needle``, a literal the message must contain before its regex runs, so a
message pays a few substring checks, not a dozen regex searches. Rules of a program are
tried in order; the first that matches gives the fields. Field names: ``user``,
``target_user``, ``source_ip``, ``source_port``, ``auth_method``, ``auth_result``
(``success`` / ``failure`` / ``invalid_user``), ``command``, ``tty``, ``upstream``;
``http.*`` keys go to the event's ``HttpInfo``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

SUCCESS, FAILURE, INVALID_USER = "success", "failure", "invalid_user"


class Rule(Protocol):
    @property
    def needle(self) -> str: ...  # a literal the message must contain for apply to match

    def apply(self, message: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class RegexRule:
    """Named groups become fields; ``fixed`` fields are added on a match. A group called
    ``invalid`` or ``failed``, when it matched, sets ``auth_result`` instead."""

    needle: str
    pattern: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern))

    def apply(self, message: str) -> dict[str, Any] | None:
        match = self.regex.search(message)
        if match is None:
            return None
        fields: dict[str, Any] = dict(self.fixed)
        for key, value in match.groupdict().items():
            if key == "invalid":
                if value:
                    fields["auth_result"] = INVALID_USER
            elif key == "failed":
                fields["auth_result"] = FAILURE if value else SUCCESS
            elif value:
                fields[key] = value
        return fields


_PAM_KV = re.compile(r"\b(logname|ruser|rhost|user|tty)=(\S*)")


@dataclass(frozen=True, slots=True)
class PamFailureRule:
    """``pam_unix(svc:auth): authentication failure; logname= uid=0 ... rhost=.. user=..``.
    ``user_keys``: PAM keys naming who tried (first non-empty wins); ``target_key``: the
    PAM key naming the account asked for, if it differs from who tried (su)."""

    user_keys: tuple[str, ...]
    target_key: str | None = None
    needle: str = "authentication failure;"

    def apply(self, message: str) -> dict[str, Any] | None:
        start = message.find(self.needle)
        if start < 0:
            return None
        pam = dict(_PAM_KV.findall(message, start))
        fields: dict[str, Any] = {"auth_result": FAILURE}
        for key in self.user_keys:
            if pam.get(key):
                fields["user"] = pam[key]
                break
        if self.target_key and pam.get(self.target_key):
            fields["target_user"] = pam[self.target_key]
        if pam.get("rhost"):
            fields["source_ip"] = pam["rhost"]
        return fields


_NGINX_CLIENT = re.compile(r", client: ([^,\s]+)")
_NGINX_UPSTREAM = re.compile(r', upstream: "([^"]*)"')
_NGINX_REQUEST = re.compile(r', request: "(\S+) (\S+)(?: (HTTP/[\d.]+))?"')


@dataclass(frozen=True, slots=True)
class NginxErrorRule:
    """``... while connecting to upstream, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1",
    upstream: "http://10.0.0.7:8080/", host: "x"``."""

    needle: str = ", client: "

    def apply(self, message: str) -> dict[str, Any] | None:
        client = _NGINX_CLIENT.search(message)
        if client is None:
            return None
        fields: dict[str, Any] = {"source_ip": client.group(1),
                                  "http.client_ip": client.group(1)}
        upstream = _NGINX_UPSTREAM.search(message, client.end())
        if upstream is not None and upstream.group(1):
            fields["upstream"] = upstream.group(1)
        request = _NGINX_REQUEST.search(message, client.end())
        if request is not None:
            fields["http.method"], fields["http.path"] = request.group(1), request.group(2)
            if request.group(3):
                fields["http.protocol"] = request.group(3)
        return fields


_FROM = r"from (?P<source_ip>\S+)(?: port (?P<source_port>\d+))?"
# "[invalid user|authenticating user|user] [name] ADDRESS port N", after Disconnected from...
_PEER = (r"(?:(?P<invalid>invalid user )|authenticating user |user )?"
         r"(?:(?P<user>\S+) (?=\S+ port ))?(?P<source_ip>[0-9A-Fa-f:.]+) port (?P<source_port>\d+)")

SSHD: tuple[Rule, ...] = (
    RegexRule("Accepted ", r"Accepted (?P<auth_method>[\w/-]+) for (?P<user>.+?) " + _FROM,
              {"auth_result": SUCCESS}),
    RegexRule("Failed ", r"Failed (?P<auth_method>[\w/-]+) for (?P<invalid>invalid user )?"
              r"(?P<user>.*?) " + _FROM, {"auth_result": FAILURE}),
    RegexRule("maximum authentication attempts",
              r"maximum authentication attempts exceeded for (?P<invalid>invalid user )?"
              r"(?P<user>.*?) " + _FROM, {"auth_result": FAILURE}),
    RegexRule("nvalid user ", r"[Ii]nvalid user (?P<user>.*?) " + _FROM,
              {"auth_result": INVALID_USER}),
    RegexRule("nvalid user ", r"invalid user (?P<user>\S+) \[preauth\]",
              {"auth_result": INVALID_USER}),
    PamFailureRule(user_keys=("user",)),
    RegexRule("Disconnected from ", r"Disconnected from " + _PEER),
    RegexRule("Connection ", r"Connection (?:closed|reset) by " + _PEER),
    RegexRule("Received disconnect", r"Received disconnect from (?P<source_ip>[0-9A-Fa-f:.]+?)"
              r"(?: port (?P<source_port>\d+))?:"),
    RegexRule("BREAK-IN", r"\[(?P<source_ip>[0-9A-Fa-f:.]+)\] failed - POSSIBLE BREAK-IN"),
    RegexRule("session opened", r"session opened for user (?P<user>[^\s(]+)"),
)

SUDO: tuple[Rule, ...] = (
    RegexRule("COMMAND=", r"(?P<user>[^\s:;]+) : (?:(?P<failed>[^;]*?) ; )?"
              r"TTY=(?P<tty>[^ ;]*) ; PWD=[^;]* ; USER=(?P<target_user>[^ ;]+) ;"
              r"(?:[^;]* ;)*? COMMAND=(?P<command>.+)"),
    PamFailureRule(user_keys=("user", "ruser", "logname")),
    RegexRule("session opened", r"session opened for user (?P<target_user>[^\s(]+)\S* by "
              r"(?P<user>[^\s(]+)"),
)

SU: tuple[Rule, ...] = (
    RegexRule("' failed for ", r"'su (?P<target_user>\S+?)' failed for (?P<user>\S+)"
              r"(?: on (?P<tty>\S+))?", {"auth_result": FAILURE}),
    RegexRule("(to ", r"(?P<failed>FAILED SU )?\(to (?P<target_user>[^)\s]+)\) (?P<user>\S+)"
              r"(?: on (?P<tty>\S+))?"),
    RegexRule("su for ", r"(?:Successful|(?P<failed>FAILED)) su for (?P<target_user>\S+) by "
              r"(?P<user>\S+)"),
    PamFailureRule(user_keys=("ruser", "logname"), target_key="user"),
    RegexRule("session opened", r"session opened for user (?P<target_user>[^\s(]+)\S* by "
              r"(?P<user>[^\s(]+)"),
)

NGINX: tuple[Rule, ...] = (NginxErrorRule(),)

# program name (as normalised from attrs["program"]) → its rules
BY_PROGRAM: dict[str, tuple[Rule, ...]] = {
    "sshd": SSHD, "sshd-session": SSHD, "sshd-auth": SSHD,
    "sudo": SUDO, "su": SU, "nginx": NGINX,
}

# Without a program, the message shape decides; these markers gate each program's rules.
SHAPES: tuple[tuple[tuple[str, ...], tuple[Rule, ...]], ...] = (
    (("sshd", "Accepted ", "Failed ", "nvalid user ", "Disconnected from", "Connection closed by",
      "Received disconnect"), SSHD),
    (("COMMAND=", "sudo"), SUDO),
    (("'su ", "(to ", " su for ", "(su:"), SU),
    ((", client: ",), NGINX),
)
