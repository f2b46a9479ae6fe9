"""The built-in rule table: rule kinds, and that a rule's needle never hides a match."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.enrichment.programs import (
    BY_PROGRAM,
    FAILURE,
    SHAPES,
    SSHD,
    SU,
    SUDO,
    NginxErrorRule,
    PamFailureRule,
    RegexRule,
)
from tests.unit.enrichment.test_extract import NGINX_ERROR, SSHD_CASES, SU_CASES, SUDO_CASES

CORPUS = [m for cases in (SSHD_CASES, SUDO_CASES, SU_CASES) for m, _ in cases] + [NGINX_ERROR]
ALL_RULES = [rule for rules in BY_PROGRAM.values() for rule in rules]


@pytest.mark.parametrize("message", CORPUS)
def test_a_rule_that_matches_contains_its_needle(message: str) -> None:
    for rule in ALL_RULES:
        if isinstance(rule, RegexRule) and rule.regex.search(message):
            assert rule.needle in message, (rule.pattern, message)


def test_every_message_of_the_corpus_is_claimed_by_some_rule() -> None:
    claimed = [m for m in CORPUS if any(r.needle in m and r.apply(m) for r in ALL_RULES)]
    assert len(claimed) == len(CORPUS) - 1  # all but "Server listening on ..."


def test_shapes_use_the_program_rule_sets() -> None:
    assert {id(rules) for _, rules in SHAPES} <= {id(r) for r in BY_PROGRAM.values()}
    assert BY_PROGRAM["sshd"] is SSHD and BY_PROGRAM["sudo"] is SUDO and BY_PROGRAM["su"] is SU


def test_regex_rule_group_conventions() -> None:
    rule = RegexRule("x", r"x (?P<failed>bad )?(?P<who>\w+)(?P<none>\d)?", {"kind": "k"})
    assert rule.apply("x bad alice") == {"kind": "k", "auth_result": FAILURE, "who": "alice"}
    assert rule.apply("x alice") == {"kind": "k", "auth_result": "success", "who": "alice"}
    assert rule.apply("y") is None


def test_pam_rule_roles() -> None:
    line = ("pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 "
            "tty=pts/1 ruser=bob rhost=10.0.0.1  user=root")
    assert PamFailureRule(user_keys=("ruser", "logname"), target_key="user").apply(line) == {
        "auth_result": FAILURE, "user": "bob", "target_user": "root", "source_ip": "10.0.0.1"}
    assert PamFailureRule(user_keys=("user",)).apply("no failure here") is None


def test_nginx_rule_without_request_or_upstream() -> None:
    line = ('2024/03/01 10:00:00 [error] 9#9: *1 open() "/srv/x" failed (2: No such file), '
            'client: 203.0.113.9, server: _')
    assert NginxErrorRule().apply(line) == {"source_ip": "203.0.113.9",
                                            "http.client_ip": "203.0.113.9"}


@given(st.text(max_size=300))
def test_rules_never_raise_on_arbitrary_text(message: str) -> None:
    for rule in ALL_RULES:
        rule.apply(message)
