"""Silences, acknowledgements and inhibition: why a notification is not sent.

Silences and acks are events (created, expired) on a Kafka topic; ``Mutes`` is the
state folded from them, so a replay rebuilds it. A silence mutes every alert whose
labels match all its matchers between ``starts_at`` and ``ends_at``. An ack pauses the
repeats of one alert's current activation. An inhibition rule mutes alerts matching its
target while an alert matching its source fires (with equal ``equal`` labels).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.alerting.matchers import Matcher, all_match, parse_matchers
from app.core.alerting.models import InhibitRule


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float

    def expired(self, at: float) -> Silence:
        return Silence(self.id, self.matchers, self.starts_at, min(self.ends_at, at),
                       self.created_by, self.comment, self.created_at)

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and all_match(self.matchers, labels)

    def to_doc(self) -> dict[str, Any]:
        return {"kind": "silence", "id": self.id, "matchers": [str(m) for m in self.matchers],
                "starts_at": self.starts_at, "ends_at": self.ends_at,
                "created_by": self.created_by, "comment": self.comment,
                "created_at": self.created_at}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Silence:
        return cls(id=str(doc["id"]), matchers=parse_matchers(list(doc["matchers"])),
                   starts_at=float(doc["starts_at"]), ends_at=float(doc["ends_at"]),
                   created_by=str(doc.get("created_by") or ""),
                   comment=str(doc.get("comment") or ""),
                   created_at=float(doc.get("created_at") or doc["starts_at"]))

    @classmethod
    def new(cls, matchers: Iterable[str], *, starts_at: float, ends_at: float,
            created_by: str, comment: str, created_at: float) -> Silence:
        parsed = parse_matchers(list(matchers))
        if not parsed:
            raise ValueError("a silence needs at least one matcher")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        text = "|".join([*map(str, parsed), repr(starts_at), repr(created_at), created_by])
        return cls(hashlib.sha256(text.encode()).hexdigest()[:16], parsed, starts_at, ends_at,
                   created_by, comment, created_at)


@dataclass(frozen=True, slots=True)
class Ack:
    fingerprint: str
    activation: int  # the activation it acknowledges; a new one notifies again
    by: str
    comment: str
    at: float

    @property
    def id(self) -> str:
        return f"ack:{self.fingerprint}:{self.activation}"

    def to_doc(self) -> dict[str, Any]:
        return {"kind": "ack", "id": self.id, "fingerprint": self.fingerprint,
                "activation": self.activation, "by": self.by, "comment": self.comment,
                "at": self.at}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Ack:
        return cls(str(doc["fingerprint"]), int(doc["activation"]), str(doc.get("by") or ""),
                   str(doc.get("comment") or ""), float(doc["at"]))


@dataclass(slots=True)
class Mutes:
    """Silences and acks folded from their topic, and the alerts firing anywhere."""

    silences: dict[str, Silence] = field(default_factory=dict)
    acks: dict[str, Ack] = field(default_factory=dict)
    firing: dict[str, dict[str, str]] = field(default_factory=dict)  # fingerprint -> labels

    def apply(self, doc: Mapping[str, Any]) -> None:
        """Fold one record of the silences topic (``kind``: silence or ack); a silence
        record replaces the one with its id (expiring a silence re-publishes it with an
        earlier ``ends_at``), so the topic can be compacted."""
        kind = doc.get("kind")
        if kind == "silence":
            silence = Silence.from_doc(doc)
            self.silences[silence.id] = silence
        elif kind == "ack":
            ack = Ack.from_doc(doc)
            self.acks[ack.fingerprint] = ack
        else:
            raise ValueError(f"unknown silences event kind {kind!r}")

    def observe_transition(self, doc: Mapping[str, Any], labels: Mapping[str, str]) -> None:
        """Track which alerts fire anywhere (for inhibition), from ``alerts.transitions``."""
        if doc.get("to") == "firing":
            self.firing[str(doc["fingerprint"])] = dict(labels)
        else:
            self.firing.pop(str(doc["fingerprint"]), None)

    def silenced_by(self, labels: Mapping[str, str], now: float) -> str | None:
        for silence in self.silences.values():
            if silence.mutes(labels, now):
                return silence.id
        return None

    def acked(self, fingerprint: str, activation: int) -> bool:
        ack = self.acks.get(fingerprint)
        return ack is not None and ack.activation == activation

    def inhibited_by(self, labels: Mapping[str, str], rules: Iterable[InhibitRule],
                     fingerprint: str) -> str | None:
        for rule in rules:
            if not all_match(rule.target, labels):
                continue
            for fp, source in self.firing.items():
                if fp == fingerprint or not all_match(rule.source, source):
                    continue
                if all(source.get(name) == labels.get(name) for name in rule.equal):
                    return fp
        return None
