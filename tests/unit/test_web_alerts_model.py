"""The alerts page's and API's pure part: active alerts from transitions, silences, requests."""

from __future__ import annotations

import pytest

from app.core.alerting.silences import Ack, Mutes, Silence
from web.pages.alerts_model import (
    SilenceRequestError,
    current_alerts,
    silence_request,
    silences_json,
    transition_json,
)

NOW = 1_800_000_000.0


def transition(fp: str, to: str, at: float, activation: int = 1,
               **labels: str) -> dict[str, object]:
    return {"_id": f"{fp}-{activation}-{to}", "rule": "high-errors", "fingerprint": fp,
            "activation": activation, "from": "inactive", "to": to, "at": at,
            "labels": labels or {"service": "checkout"}, "value": 0.4, "threshold": 0.1,
            "comparison": ">", "starts_at": at - 30, "ends_at": None,
            "window": [at - 60, at], "baseline": None, "peak": 0.5}


def test_active_alerts_are_those_whose_newest_transition_is_pending_or_firing() -> None:
    latest = [transition("a", "firing", NOW - 10), transition("b", "resolved", NOW - 5),
              transition("c", "pending", NOW - 1), transition("d", "inactive", NOW)]
    alerts = current_alerts(latest, Mutes(), NOW)
    assert [(a["fingerprint"], a["state"]) for a in alerts] == [("a", "firing"),
                                                                ("c", "pending")]
    first = alerts[0]
    assert first["labels"] == {"alertname": "high-errors", "service": "checkout"}
    assert first["window"] == {"start": NOW - 70, "end": NOW - 10, "size_s": 60}
    assert first["since"] == NOW - 40 and first["since_iso"].endswith("Z")
    assert first["silenced_by"] is None and first["acked_by"] is None


def test_silence_and_ack_of_the_current_activation_are_shown() -> None:
    silence = Silence.new(["alertname=high-errors", "service=checkout"], starts_at=NOW - 60,
                          ends_at=NOW + 3600, created_by="olga", comment="deploy",
                          created_at=NOW - 60)
    mutes = Mutes(silences={silence.id: silence},
                  acks={"a": Ack("a", 2, "olga", "", NOW), "b": Ack("b", 1, "olga", "", NOW)})
    alerts = current_alerts([transition("a", "firing", NOW, activation=2),
                             transition("b", "firing", NOW, activation=2, service="auth")],
                            mutes, NOW)
    by_fp = {a["fingerprint"]: a for a in alerts}
    assert by_fp["a"]["silenced_by"] == silence.id and by_fp["a"]["acked_by"] == "olga"
    assert by_fp["b"]["silenced_by"] is None
    assert by_fp["b"]["acked_by"] is None  # the ack was for an earlier activation


def test_silences_list_active_first_then_expired() -> None:
    def make(start: float, end: float) -> Silence:
        return Silence.new(["service=x"], starts_at=start, ends_at=end, created_by="o",
                           comment="", created_at=start)
    active, pending, expired = make(NOW - 5, NOW + 50), make(NOW + 10, NOW + 20), \
        make(NOW - 50, NOW - 1)
    mutes = Mutes(silences={s.id: s for s in (expired, pending, active)})
    rows = silences_json(mutes, NOW)
    assert [r["state"] for r in rows] == ["active", "pending", "expired"]
    assert [r["id"] for r in silences_json(mutes, NOW, expired=False)] == [active.id,
                                                                          pending.id]


def test_transition_json_names_its_id() -> None:
    out = transition_json(transition("a", "firing", NOW))
    assert out["id"] == "a-1-firing" and "_id" not in out and out["at_iso"]


def test_silence_requests_are_checked() -> None:
    wanted = silence_request({"matchers": "alertname=x\nservice=~chk.*, env!=dev",
                              "duration": "30m", "comment": "deploy"}, NOW)
    assert wanted.matchers == ("alertname=x", "service=~chk.*", "env!=dev")
    assert (wanted.starts_at, wanted.ends_at) == (NOW, NOW + 1800)
    assert silence_request({"matchers": ["a=b"]}, NOW).ends_at == NOW + 7200
    assert silence_request({"matchers": ["a=b"], "ends_at": NOW + 60}, NOW).ends_at == NOW + 60
    bad = [("body", []), ("matchers", {}), ("matchers", {"matchers": []}),
           ("matchers", {"matchers": [1]}), ("comment", {"matchers": ["a=b"], "comment": 3}),
           ("ends_at", {"matchers": ["a=b"], "ends_at": NOW - 1}),
           ("ends_at", {"matchers": ["a=b"], "ends_at": True}),
           ("duration", {"matchers": ["a=b"], "duration": "soon"}),
           ("duration", {"matchers": ["a=b"], "duration": "1h", "ends_at": NOW + 9}),
           ("starts_at", {"matchers": ["a=b"], "starts_at": 1e300}),
           ("ends_at", {"matchers": ["a=b"], "duration": "100d"})]
    for field, body in bad:
        with pytest.raises(SilenceRequestError) as caught:
            silence_request(body, NOW)
        assert caught.value.field == field, (body, caught.value)
