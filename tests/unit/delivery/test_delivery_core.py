"""Routing by tag, formatting per channel kind, and "send it or not?" from records."""

from __future__ import annotations

import orjson

from app.core.delivery import (
    AttemptResult,
    Channel,
    ChannelKind,
    DeliveryStatus,
    attempt_entry,
    decide,
    format_message,
    kind_of_scheme,
    notify_type,
    select_channels,
)
from app.core.delivery.records import status_after
from app.core.notification import Notification


def note(**overrides) -> Notification:
    fields = {"key": "k1", "kind": "firing", "routes": ("ops",), "title": "High error rate",
              "body": "**checkout** errors 12% > 5%", "group": "errors|checkout",
              "created_at": 1.0e9, "severity": "critical",
              "alerts": ({"rule": "errors", "value": 0.12},)}
    return Notification(**(fields | overrides))


MAIL = Channel("ops-email", ChannelKind.EMAIL, frozenset({"ops", "email"}), 30.0)
HOOK = Channel("ops-webhook", ChannelKind.JSON, frozenset({"ops", "webhook"}), 30.0)
DEV = Channel("dev-chat", ChannelKind.TEXT, frozenset({"dev"}), 30.0)


def test_a_channel_gets_a_notification_when_it_has_any_of_its_routes():
    assert select_channels([MAIL, HOOK, DEV], ["ops"]) == [MAIL, HOOK]
    assert select_channels([MAIL, HOOK, DEV], ["webhook", "dev"]) == [HOOK, DEV]
    assert select_channels([MAIL, HOOK, DEV], ["nobody"]) == []
    assert select_channels([MAIL, HOOK, DEV], []) == []


def test_channel_kind_from_the_url_scheme():
    assert kind_of_scheme("mailto") is ChannelKind.EMAIL
    assert kind_of_scheme("MAILTOS") is ChannelKind.EMAIL
    assert kind_of_scheme("jsons") is ChannelKind.JSON
    assert kind_of_scheme("slack") is ChannelKind.TEXT


def test_notify_type_follows_severity_and_resolved_is_success():
    assert notify_type(note(severity="critical")) == "failure"
    assert notify_type(note(severity="warning")) == "warning"
    assert notify_type(note(severity="info")) == "info"
    assert notify_type(note(severity="whatever")) == "warning"
    assert notify_type(note(kind="resolved")) == "success"


def test_email_gets_the_title_as_subject_and_the_markdown_body_with_its_key():
    message = format_message(note(), ChannelKind.EMAIL)
    assert message.title == "High error rate"
    assert message.body.startswith("**checkout** errors 12% > 5%")
    assert message.body.endswith("logwarden firing · group errors|checkout · key k1")
    assert (message.body_format, message.notify_type) == ("markdown", "failure")


def test_json_gets_the_whole_notification_as_json_text():
    message = format_message(note(), ChannelKind.JSON)
    assert message.body_format == "text"
    assert Notification.from_json(message.body) == note()
    assert orjson.loads(message.body)["alerts"] == [{"rule": "errors", "value": 0.12}]


def test_no_record_means_send_attempt_one():
    assert decide(None).send and decide(None).next_attempt == 1


def test_a_delivered_key_is_never_sent_again():
    record = {"status": "delivered", "attempts": [
        attempt_entry(1, 1.0, AttemptResult.FAILED, "500"),
        attempt_entry(2, 3.0, AttemptResult.DELIVERED)]}
    decision = decide(record)
    assert not decision.send and decision.reason == "already delivered"


def test_a_send_without_outcome_is_sent_again_under_the_next_number():
    decision = decide({"status": "sending", "sending_attempt": 1, "attempts": []})
    assert decision.send and decision.next_attempt == 2 and "no outcome" in decision.reason


def test_a_failed_key_gets_a_new_round_and_numbering_continues():
    record = {"status": "failed", "attempts": [
        attempt_entry(n, float(n), AttemptResult.FAILED, "down") for n in (1, 2, 3)]}
    decision = decide(record)
    assert decision.send and decision.next_attempt == 4


def test_a_wait_for_the_rate_limit_is_not_an_attempt_made():
    record = {"status": "retrying", "attempts": [
        attempt_entry(1, 1.0, AttemptResult.RATE_LIMITED, "delayed", 2.0)]}
    assert decide(record).next_attempt == 1


def test_rate_limited_entries_carry_their_delay_and_status_transitions():
    entry = attempt_entry(1, 5.0, AttemptResult.RATE_LIMITED, "delayed", 1.23456)
    assert entry == {"n": 1, "at": 5.0, "result": "rate_limited", "error": "delayed",
                     "delay_s": 1.235}
    assert status_after(AttemptResult.DELIVERED, True) is DeliveryStatus.DELIVERED
    assert status_after(AttemptResult.FAILED, False) is DeliveryStatus.RETRYING
    assert status_after(AttemptResult.FAILED, True) is DeliveryStatus.FAILED
