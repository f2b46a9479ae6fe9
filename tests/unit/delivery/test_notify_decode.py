"""Outbox messages the notify agent cannot use get a reason code (stage notify)."""

from __future__ import annotations

import pytest

from agents.notify import NotificationRejected, decode_one
from app.core.errors import Reason
from app.core.notification import Notification

GOOD = Notification(key="k", kind="test", routes=("ops",), title="t", body="b", group="g",
                    created_at=1.0)


def test_a_good_message_decodes():
    assert decode_one(GOOD.to_json()) == GOOD


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", Reason.EMPTY),
    (b"\xff\xfe", Reason.UNDECODABLE),
    (b"{not json", Reason.MALFORMED_JSON),
    (b"[1, 2]", Reason.NOT_AN_OBJECT),
    (GOOD.to_json().replace(b'"kind":"test"', b'"kind":"nope"'), Reason.BAD_FIELD),
    (GOOD.to_json().replace(b'"key":"k"', b'"key":""'), Reason.BAD_FIELD),
])
def test_bad_messages_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(NotificationRejected) as err:
        decode_one(raw)
    assert err.value.reason is reason and err.value.stage == "notify"
