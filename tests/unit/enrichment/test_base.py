"""EnrichmentPipeline: order, error wrapping, and the never-raise-anything-else property."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.enrichment.base import Enricher, EnrichmentPipeline
from app.core.enrichment.metadata import ServiceDirectory, ServiceInfo
from app.core.enrichment.registry import DEFAULT_ENRICHERS, build_pipeline
from app.core.errors import EnrichmentError, Reason
from app.core.events import HttpInfo, LogEvent


def make_event(**fields: object) -> LogEvent:
    base: dict[str, object] = {"event_id": "e1", "ts": 0.0, "observed_ts": 0.0,
                               "service": "unknown", "message": "hello"}
    base.update(fields)
    return LogEvent(**base)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name, self.calls = name, calls

    def enrich(self, event: LogEvent) -> None:
        self.calls.append(self.name)


class Broken:
    name = "broken"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def enrich(self, event: LogEvent) -> None:
        raise self.exc


def test_runs_enrichers_in_order() -> None:
    calls: list[str] = []
    enrichers: list[Enricher] = [Recorder("a", calls), Recorder("b", calls), Recorder("c", calls)]
    pipeline = EnrichmentPipeline(enrichers)
    pipeline.run(make_event())
    assert calls == ["a", "b", "c"]
    assert pipeline.names == ["a", "b", "c"]
    assert pipeline.get("b") is enrichers[1] and pipeline.get("z") is None


@pytest.mark.parametrize("exc", [KeyError("x"), ValueError("bad"), TypeError("t"),
                                 ZeroDivisionError(), RecursionError("deep")])
def test_unexpected_exception_becomes_enrichment_error(exc: Exception) -> None:
    calls: list[str] = []
    pipeline = EnrichmentPipeline([Broken(exc), Recorder("after", calls)])
    with pytest.raises(EnrichmentError) as info:
        pipeline.run(make_event())
    err = info.value
    assert err.enricher == "broken" and err.reason is Reason.ENRICHMENT_FAILED
    assert type(exc).__name__ in err.detail
    assert err.__cause__ is exc
    assert calls == []  # the event stops at the failing enricher


def test_enrichment_error_passes_through_unchanged() -> None:
    original = EnrichmentError("lookup table corrupt", enricher="custom")
    with pytest.raises(EnrichmentError) as info:
        EnrichmentPipeline([Broken(original)]).run(make_event())
    assert info.value is original


def test_keyboard_interrupt_is_not_swallowed() -> None:
    class Interrupting:
        name = "stop"

        def enrich(self, event: LogEvent) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        EnrichmentPipeline([Interrupting()]).run(make_event())


def test_duplicate_names_are_rejected() -> None:
    calls: list[str] = []
    with pytest.raises(ValueError, match="more than once: a"):
        EnrichmentPipeline([Recorder("a", calls), Recorder("a", calls)])


# ------------------------------------------------------------------ properties
@pytest.fixture(scope="module")
def default_pipeline() -> EnrichmentPipeline:
    directory = ServiceDirectory({"api": ServiceInfo("api", team="core", env="prod")})
    return build_pipeline(list(DEFAULT_ENRICHERS), {
        "service_meta": {"directory": directory},
        "service": {"host_patterns": [[r"^(?P<svc>[a-z-]+)-\d+$", "{svc}"]]},
        "extract": {"extractors": [{"program": "app", "regex": r"id=(?P<item>\w+)"}]},
        "template": {"store_template": True},
    })


texts = st.text(max_size=80)
maybe_texts = st.none() | texts
addresses = st.sampled_from(["8.8.8.8", "2001:4860:4860::8888", "10.0.0.1", "", "-"])
attr_values = st.one_of(texts, addresses, st.integers(), st.none(),
                        st.lists(texts, max_size=2), st.dictionaries(texts, texts, max_size=2))
http_infos = st.builds(
    HttpInfo, method=maybe_texts, path=maybe_texts, protocol=maybe_texts,
    status=st.none() | st.integers(-1000, 1000), client_ip=maybe_texts | addresses,
    referrer=maybe_texts,
    # bounded: a cache miss of the pure-Python UA parser costs up to a few ms
    user_agent=st.none() | st.text(max_size=40) | st.sampled_from(["curl/8.4.0", "-"]),
)
events = st.builds(
    make_event,
    service=texts, message=st.text(max_size=300), severity_text=texts,
    severity_number=st.integers(-5, 40), host=maybe_texts, source_name=maybe_texts,
    parser=st.sampled_from(["plain", "json", "http_access", "syslog"]),
    http=st.none() | http_infos,
    attrs=st.dictionaries(st.sampled_from(["program", "service", "app", "source_ip", "user",
                                           "kubernetes.labels.app", "forwarded_for", "x"])
                          | texts, attr_values, max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_default_pipeline_never_fails_on_arbitrary_string_fields(
        default_pipeline: EnrichmentPipeline, event: LogEvent) -> None:
    # Stronger than "raises only EnrichmentError": the built-in enrichers treat odd input
    # as missing data, so a wrapped error here would be a bug hidden by the pipeline.
    try:
        default_pipeline.run(event)
    except EnrichmentError as exc:
        pytest.fail(f"enricher {exc.enricher!r} failed on {event!r}: {exc.detail}")
    assert 0 <= event.severity_number <= 24
    assert isinstance(event.service, str)
    event.to_doc()  # whatever the enrichers did still renders


class Flaky:
    """Fails on some events with an arbitrary built-in exception."""

    name = "flaky"

    def enrich(self, event: LogEvent) -> None:
        if len(event.message) % 3 == 1:
            raise [ValueError, KeyError, IndexError, AttributeError][len(event.service) % 4]()


@settings(max_examples=200, deadline=None)
@given(event=events)
def test_pipeline_raises_nothing_but_enrichment_error(event: LogEvent) -> None:
    calls: list[str] = []
    pipeline = EnrichmentPipeline([Recorder("first", calls), Flaky(), Recorder("last", calls)])
    try:
        pipeline.run(event)
    except EnrichmentError as exc:
        assert exc.enricher == "flaky" and calls == ["first"]
    else:
        assert calls == ["first", "last"]


# ------------------------------------------------------------------ runs_if
@pytest.fixture(scope="module")
def plain_pipeline() -> EnrichmentPipeline:
    return build_pipeline(list(DEFAULT_ENRICHERS))  # no extractors, empty directory


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, program=st.sampled_from([None, "sshd", "sudo", "app", "x"]),
       service=st.sampled_from([None, "api", "unknown", ""]))
def test_runs_if_is_false_only_where_enrich_changes_nothing(
        default_pipeline: EnrichmentPipeline, plain_pipeline: EnrichmentPipeline,
        event: LogEvent, program: str | None, service: str | None) -> None:
    """Each built-in enricher's ``runs_if``: where it is false, ``enrich`` leaves the
    event as it was (with and without user extractors, a directory entry...)."""
    if program is not None:
        event.attrs["program"] = program
    if service is not None:
        event.service = service
    for pipeline in (default_pipeline, plain_pipeline):
        for enricher in pipeline.enrichers:
            condition = getattr(enricher, "runs_if", None)
            if condition is None or eval(condition, {"event": event, "self": enricher}):
                enricher.enrich(event)  # as the pipeline would: the next sees its work
                continue
            before = copy.deepcopy(event)
            enricher.enrich(event)
            assert event == before, enricher.name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_compiled_run_does_what_calling_each_enricher_does(
        default_pipeline: EnrichmentPipeline, event: LogEvent) -> None:
    twin = copy.deepcopy(event)
    default_pipeline.run(event)
    for enricher in default_pipeline.enrichers:
        enricher.enrich(twin)
    assert event == twin


def test_runs_if_is_checked() -> None:
    class Guarded(Recorder):
        def __init__(self, runs_if: str, calls: list[str]) -> None:
            super().__init__("g", calls)
            self.runs_if = runs_if

    calls: list[str] = []
    pipeline = EnrichmentPipeline([Guarded("event.service == self.name", calls)])
    pipeline.run(make_event(service="x"))
    pipeline.run(make_event(service="g"))
    assert calls == ["g"]
    for bad, why in [("event.", "not an expression"), ("os.getpid()", "not 'os'"),
                     ("(x := 1)", "bind"), ("event; 1", "not an expression")]:
        with pytest.raises(ValueError, match=why):
            EnrichmentPipeline([Guarded(bad, calls)])


def test_a_failing_runs_if_names_its_enricher() -> None:
    class Guarded(Recorder):
        runs_if = "event.attrs['missing']"

    calls: list[str] = []
    pipeline = EnrichmentPipeline([Recorder("a", calls), Guarded("g", calls)])
    with pytest.raises(EnrichmentError) as info:
        pipeline.run(make_event())
    assert info.value.enricher == "g" and "KeyError" in info.value.detail
    assert calls == ["a"]
