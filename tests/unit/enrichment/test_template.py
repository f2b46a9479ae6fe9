"""template: masked message, stable short id, optional stored template."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.enrichment.template import TemplateEnricher, mask, template_id
from app.core.events import LogEvent


@pytest.mark.parametrize(("message", "template"), [
    ("Failed password for invalid user admin from 1.2.3.4 port 22 ssh2",
     "Failed password for invalid user admin from <ip> port <num> ssh<num>"),
    ("Failed password for root from 2001:db8::1 port 4711 ssh2",
     "Failed password for root from <ip> port <num> ssh<num>"),
    ("connect to 10.0.0.1:5432 failed", "connect to <ip> failed"),
    ("request 550e8400-e29b-41d4-a716-446655440000 done in 12.5ms",
     "request <uuid> done in <num>ms"),
    ("user \"bob smith\" logged in", "user <str> logged in"),
    ("can't open 'x.txt': it's locked", "can't open <str>: it's locked"),
    ("commit 3f9a2b1cdeadbeef0 by alice@example.com", "commit <hex> by <email>"),
    ("segfault at 0x7ffd1234 ip 00007f3a", "segfault at <hex> ip <hex>"),
    ("GET /users/123?page=2 HTTP/1.1", "GET /users/<num>?page=<num> HTTP/<num>"),
    ("link fe80::1%eth0 up", "link <ip> up"),
    ("cache deadbeef accepted", "cache deadbeef accepted"),  # letters only: a word
    ("plain words only", "plain words only"),
])
def test_mask_table(message: str, template: str) -> None:
    assert mask(message) == template


def test_same_shape_same_id_different_shape_different_id() -> None:
    enricher = TemplateEnricher()
    ids = []
    for message in ("Failed password for root from 1.2.3.4 port 22 ssh2",
                    "Failed password for root from 5.6.7.8 port 4711 ssh2",
                    "Accepted password for root from 5.6.7.8 port 4711 ssh2"):
        event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message=message)
        enricher.enrich(event)
        ids.append(event.template_id)
        assert "template" not in event.attrs
    assert ids[0] == ids[1] != ids[2]


def test_id_is_stable_across_processes() -> None:
    # a fixed value: BLAKE2b, not Python's randomised hash()
    assert template_id("Failed password for root from <ip> port <num> ssh<num>") == (
        template_id("Failed password for root from <ip> port <num> ssh<num>"))
    assert template_id("x") == "4adf4367f96e584f"
    assert len(template_id("anything")) == 16


def test_store_template_and_length_cap() -> None:
    enricher = TemplateEnricher.from_config({"store_template": True, "max_length": 20})
    event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s",
                     message="job 42 finished " + "x" * 100)
    enricher.enrich(event)
    assert event.attrs["template"] == "job <num> finished xxxx"
    assert event.template_id == template_id("job <num> finished xxxx")


def test_empty_message_has_no_template() -> None:
    event = LogEvent(event_id="e", ts=0, observed_ts=0, service="s", message="")
    TemplateEnricher().enrich(event)
    assert event.template_id is None


@given(st.text(max_size=400))
def test_mask_never_raises(message: str) -> None:
    assert template_id(mask(message))


@given(st.text(alphabet=st.characters(exclude_categories=("Nd",)), max_size=80),
       st.integers(0, 10**12), st.integers(0, 10**12))
def test_messages_differing_only_in_a_number_share_the_template(
        text: str, a: int, b: int) -> None:
    assert mask(f"{text} {a} {text}") == mask(f"{text} {b} {text}")


def test_config() -> None:
    with pytest.raises(ValueError, match="unknown option"):
        TemplateEnricher.from_config({"store": True})


def test_cached_templates_equal_the_uncached_mask() -> None:
    """The message cache (a dict emptied when full) in front of the key cache: repeated
    and new messages, small caches that fill, against mask() and template_id()."""
    import random
    rng = random.Random(5)
    words = ["GET", "/api/orders/", "42", "7", "HTTP/1.1", "user", "a@b.io", "'x'",
             "10.0.0.1", "é", " ", "deadbeef12", "", "-"]
    messages = ["".join(rng.choice(words) for _ in range(rng.randrange(1, 6)))
                for _ in range(300)]
    for cache_size, max_length in ((1, 1024), (7, 1024), (10_000, 12)):
        enricher = TemplateEnricher(store_template=True, cache_size=cache_size,
                                    max_length=max_length)
        for _ in range(3_000):
            message = rng.choice(messages)
            event = LogEvent(event_id="e", ts=0.0, observed_ts=0.0, service="s",
                             message=message)
            enricher.enrich(event)
            if not message:
                assert event.template_id is None
                continue
            expected = mask(message[:max_length])
            assert event.attrs["template"] == expected
            assert event.template_id == template_id(expected)
            assert enricher.template(message) == (expected, template_id(expected))
        assert len(enricher._messages) <= cache_size
