"""The JSON mapping's shortcuts give what the reference walk gives.

A line is mapped by the walk the first time its shape is seen, by the shape's plan from
the second time, and by the plan compiled to a function once the shape is common. Each
line below is parsed with empty caches (the walk) and then, mixed with lines of the same
top-level keys but other shapes, values or nulls, often enough to go through every path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.core.errors import ParseError
from app.core.parsing import RecordContext, json_lines
from app.core.parsing.json_lines import JsonLinesParser

CTX = RecordContext(event_id="e1", observed_ts=1_795_000_000.0, service=None,
                    source_name="src", max_json_depth=16)
P = JsonLinesParser()

APP = ('{{"@timestamp":"2026-11-18T11:06:40.{ms:03d}Z","level":"{level}","service":"checkout",'
       '"host":"checkout-{i}","message":"user {i} refreshed","trace_id":"{i:032x}",'
       '"http":{{"method":"GET","path":"/api/cart/{i}","status":{status},'
       '"latency_ms":{i}.5,"bytes":{i}}}}}')
GROUPS: dict[str, list[str]] = {
    "generator": [APP.format(ms=i, level=level, i=i, status=status)
                  for i, (level, status) in enumerate(
                      [("INFO", 200), ("WARN", 429), ("ERROR", 502), ("info", 304)])],
    # the same shape and types, empty strings (fields left empty) and numbers at their
    # edges: the compiled plan's typed body
    "generator-edges": [
        APP.format(ms=i, level="INFO", i=i, status=status).replace(f'"{old}"', '""')
        for i, (old, status) in enumerate([
            ("INFO", 200), ("checkout", 99), (f"checkout-{2}", 1000), (f"{3:032x}", 100),
            ("GET", 999), (f"/api/cart/{5}", 200), (f"user {6} refreshed", 404)])]
    + [APP.format(ms=7, level="INFO", i=7, status=200).replace('"bytes":7', f'"bytes":{n}')
       for n in (2**53, 2**53 + 1, -2**53 - 1, 2**63)]
    + [APP.format(ms=8, level="INFO", i=8, status=200).replace('8.5', '8'),  # int latency
       APP.format(ms=8, level="INFO", i=8, status=200).replace('"status":200', '"status":2e2')],
    # same top-level keys; http is another shape, not an object, or null
    "generator-variants": [
        APP.format(ms=5, level="INFO", i=5, status=200).replace(
            '"method":"GET",', '"method":"GET","extra":1,'),
        '{"@timestamp":"2026-11-18T11:06:40Z","level":"INFO","service":"checkout",'
        '"host":"h","message":"m","trace_id":"t","http":"not an object"}',
        '{"@timestamp":"2026-11-18T11:06:40Z","level":null,"service":"checkout",'
        '"host":"h","message":"m","trace_id":"t","http":null}',
        '{"@timestamp":1795000000,"level":"INFO","service":"checkout",'
        '"host":null,"message":{"x":1},"trace_id":"t","http":{"status":"404"}}',
    ],
    "ecs-nested": [
        '{"@timestamp":"2026-11-22T04:00:00.123Z","log":{"level":"warn","logger":"app.db"},'
        '"message":"slow","service":{"name":"orders","environment":"prod"},'
        '"host":{"name":"orders-7"},"http":{"request":{"method":"GET"},"response":{'
        '"status_code":200,"body":{"bytes":42}}},"url":{"path":"/o/1","domain":"x"},'
        '"event":{"duration":1500000,"dataset":"orders.log"},"client":{"ip":"10.1.2.3"},'
        '"user_agent":{"original":"curl/8"},"error":{"type":"Timeout","message":"t/o"}}',
        '{"@timestamp":"2026-11-22T04:00:00.124Z","log":{"level":"error","logger":"app.db"},'
        '"message":"slower","service":{"name":"orders","environment":"prod"},'
        '"host":{"name":"orders-8"},"http":{"request":{"method":"PUT"},"response":{'
        '"status_code":503,"body":{"bytes":7}}},"url":{"path":"/o/2","domain":"y"},'
        '"event":{"duration":2500000,"dataset":"orders.log"},"client":{"ip":"8.8.8.8"},'
        '"user_agent":{"original":"curl/9"},"error":{"type":"Boom","message":"b"}}',
        # a winning alias null: log.level gives way to a lower-ranked alias
        '{"@timestamp":"2026-11-22T04:00:00.125Z","log":{"level":null,"logger":"app.db"},'
        '"message":"slow","service":{"name":"orders","environment":"prod"},'
        '"host":{"name":"orders-7"},"http":{"request":{"method":"GET"},"response":{'
        '"status_code":200,"body":{"bytes":42}}},"url":{"path":"/o/1","domain":"x"},'
        '"event":{"duration":1500000,"dataset":"orders.log"},"client":{"ip":"10.1.2.3"},'
        '"user_agent":{"original":"curl/8"},"error":{"type":"Timeout","message":"t/o"}}',
        # the same top-level keys, containers of other shapes
        '{"@timestamp":"2026-11-22T04:00:00.126Z","log":"flat","message":"m",'
        '"service":{"name":"orders"},"host":{"name":"h","ip":"1.2.3.4"},'
        '"http":{"response":{"status_code":500}},"url":{"path":"/p"},'
        '"event":{"dataset":"d"},"client":{},"user_agent":{"original":"curl/8"},'
        '"error":{"type":"T"}}',
    ],
    "dotted-and-otel": [
        '{"@timestamp":"2026-11-22T04:00:00Z","log.level":"ERROR","service.name":"pay",'
        '"http.response.status_code":502,"url.path":"/pay","message":"bad gateway"}',
        '{"Timestamp":"1795000000123456789","ObservedTimestamp":"1795000000200000000",'
        '"TraceId":"5b8efff798038103d269b633813fc60c","SpanId":"eee19b7ec3c1b174",'
        '"SeverityText":"Information","SeverityNumber":9,"Body":"user logged in",'
        '"Resource":{"service.name":"auth"},"InstrumentationScope":{"name":"auth.login"},'
        '"Attributes":{"user.id":"u-1","http.status_code":200}}',
        '{"event_id":"abc-1","msg":"x","lvl":"debug","custom":{"a":[1,2]},"n":null}',
        '{"event_id":"","msg":"y","lvl":"warn","custom":{"a":[3]},"n":1}',
    ],
    "bad-values": [
        '{"ts":"2026-11-22T04:00:00.000Z","level":"INFO","msg":"ok","status":200}',
        '{"ts":"2026-11-22T04:00:00.000Z","level":"INFO","msg":"bad","status":99}',
        '{"ts":"not a time","level":"INFO","msg":"bad","status":200}',
        '{"ts":"2026-11-22T04:00:00.000Z","level":["x"],"msg":"bad","status":200}',
    ],
}


def outcome(line: str, ctx: RecordContext = CTX) -> Any:
    """The event (compared field by field, nested objects too), or the parse error."""
    try:
        return P.parse(line, ctx)
    except ParseError as exc:
        return (exc.reason, exc.detail)


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_path_maps_as_the_walk_does(group: str) -> None:
    lines = GROUPS[group]
    expected = []
    for line in lines:
        json_lines._TOP.clear()  # first sight of every shape: the reference walk
        expected.append(outcome(line))
    json_lines._TOP.clear()
    for round_ in range(3 * json_lines._COMPILE_AFTER):
        for line, want in zip(lines, expected, strict=True):
            assert outcome(line) == want, (round_, line)
        for line, want in zip(reversed(lines), reversed(expected), strict=True):
            assert outcome(line) == want, (round_, line)


def test_a_common_shape_is_compiled() -> None:
    json_lines._TOP.clear()
    line = GROUPS["generator"][0]
    for _ in range(json_lines._COMPILE_AFTER + 4):
        P.parse(line, CTX)
    top = next(iter(json_lines._TOP.values()))
    assert top.build is not None


def test_keys_are_never_written_into_the_source() -> None:
    # a key that would be code if pasted into the compiled function stays data
    json_lines._TOP.clear()
    line = '{"msg":"x","\\"]) or __import__(\\"os\\").exit(1) #":1,"level":"INFO"}'
    want = outcome(line)
    for _ in range(json_lines._COMPILE_AFTER + 4):
        assert outcome(line) == want
    assert want.attrs == {'"]) or __import__("os").exit(1) #': 1}


# ------------------------------------------------------------------ random shapes

_FIELD_KEYS = [alias for aliases in json_lines._FIELDS.values() for alias in aliases]
_VALUES: list[Any] = ["", "x", "warn", "ERROR", "2026-11-22T04:00:00.123Z",
                      "2026-11-22T04:00:00.123456Z", "2026-11-22 04:00:00", "1795000000",
                      "not a time", "/a/1?q=2", "1.2.3.4", 0, 7, 404, 99, 2**40, 2**62, -3,
                      2**53, 2**53 + 1, -2**53 - 1, 150.7,  # int(float(x)) != x past 2**53
                      1.5, 1e300, True, False, None, [], [1, "a"], {}, {"name": "svc"},
                      {"x": {"y": 1}}]


def _random_object(rng: Any, depth: int = 0) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for _ in range(rng.randint(0, 7 if depth == 0 else 3)):
        key = rng.choice(_FIELD_KEYS) if rng.random() < 0.7 else rng.choice(
            ["extra", "event_id", "Attributes", "http", "log", "service", "url", "error",
             "http.response", "Resource", "a.b"])
        if "." in key and rng.random() < 0.5:  # the nested spelling of a dotted alias
            head, _, tail = key.partition(".")
            obj[head] = {tail: rng.choice(_VALUES)}
        elif depth < 2 and rng.random() < 0.25:
            obj[key] = _random_object(rng, depth + 1)
        else:
            obj[key] = rng.choice(_VALUES)
    return obj


def _revalue(rng: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """The same keys at every level, other values (sometimes other types or null)."""
    return {key: _revalue(rng, value) if type(value) is dict and rng.random() < 0.8
            else rng.choice(_VALUES) if rng.random() < 0.5 else value
            for key, value in obj.items()}


def _rekey(rng: Any, obj: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The same top-level keys; below, objects with their keys in another order, or as
    many keys but one of them another (a plan may check a nested object's keys by count
    when none of them goes to attrs)."""
    items = [(key, _rekey(rng, value, depth + 1) if type(value) is dict else value)
             for key, value in obj.items()]
    if depth > 0:
        rng.shuffle(items)
        if items and rng.random() < 0.3:
            index = rng.randrange(len(items))
            items[index] = (rng.choice([*_FIELD_KEYS, "extra", "a.b"]), items[index][1])
    return dict(items)


@pytest.mark.parametrize("seed", range(40))
def test_random_shapes_map_as_the_walk_does(seed: int) -> None:
    import random

    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(6):
        base = _random_object(rng)
        lines.append(json.dumps(base))
        lines.extend(json.dumps(_revalue(rng, base)) for _ in range(3))
        lines.extend(json.dumps(_rekey(rng, base)) for _ in range(2))
    map_like_the_walk(lines, json_lines._COMPILE_AFTER + 6)


def map_like_the_walk(lines: list[str], rounds: int) -> None:
    """Each line maps as the walk maps it (on empty caches), over ``rounds`` rounds of
    all lines in turn (their shapes planned, then compiled)."""
    expected = []
    for line in lines:
        json_lines._TOP.clear()
        expected.append(outcome(line))
    json_lines._TOP.clear()
    for round_ in range(rounds):
        for line, want in zip(lines, expected, strict=True):
            got = outcome(line)
            # repr() too: 201 == 201.0, but an int and a float are different documents
            assert got == want and repr(got) == repr(want), (round_, line)


def test_compiled_timestamps_equal_the_uncached_parse() -> None:
    """The compiled plan reads a millisecond timestamp of the last second seen from
    ``timeparse._LAST_SECOND``: the same value as datetime's parse, in and out of time
    order, around the seconds a float holds exactly and past them."""
    import random
    from datetime import UTC, datetime, timedelta

    from app.core import timeparse
    from app.core.timeparse import epoch_from_iso

    rng = random.Random(3)
    json_lines._TOP.clear()
    edge = timeparse._LAST_MAX
    second, compiled = 1_795_000_000, 0
    for _ in range(3000):
        pick = rng.random()
        if pick < 0.1:
            second = rng.choice([edge - 1, edge, edge + 1, -edge - 1, -edge, 0, -1,
                                 rng.randint(-62_135_596_800, 253_402_300_799)])
        elif pick < 0.5:
            second += rng.choice([1, 1, -1])
        if not -62_135_596_800 <= second <= 253_402_300_799:
            second = 1_795_000_000
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=second)
        stamp = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z"
        line = APP.format(ms=0, level="INFO", i=1, status=200).replace(
            "2026-11-18T11:06:40.000Z", stamp)
        event = P.parse(line, CTX)
        assert repr(event.ts) == repr(epoch_from_iso(stamp)), stamp
        compiled += getattr(json_lines._TOP[tuple(json.loads(line))], "build", None) is not None
    assert compiled > 2900


_NESTED_ORDER = [
    # one alias path twice in one nested object, in both orders: the first one wins
    '{"msg":"m","http":{"response.status_code":201,"response":{"status_code":202}}}',
    '{"msg":"m","http":{"response":{"status_code":202},"response.status_code":201}}',
    # a nested object fully consumed, its keys in another order or one key another
    '{"msg":"m","http":{"method":"GET","path":"/a","status":200}}',
    '{"msg":"m","http":{"status":200,"method":"GET","path":"/a"}}',
    '{"msg":"m","http":{"method":"GET","path":"/a","extra":200}}',
    '{"msg":"m","http":{"method":"GET","extra":"/a","status":200}}',
]


@pytest.mark.parametrize("first", range(len(_NESTED_ORDER)))
def test_nested_key_order(first: int) -> None:
    """Lines of one top-level shape whose nested objects differ in key order only, or
    in one key: each maps as the walk maps it, once the shape of the first line is
    compiled."""
    lines = [_NESTED_ORDER[first], *_NESTED_ORDER[:first], *_NESTED_ORDER[first + 1:]]
    map_like_the_walk(lines, json_lines._COMPILE_AFTER + 2)


# ------------------------------------------------------------------ depth

_DEEP = "[" * 5 + "1" + "]" * 5  # a list 5 deep
_OBJ5 = '{"a":' * 4 + "{}" + "}" * 4  # an object 5 deep
# (template, a flat value, deep values); {v} takes each value in turn
_DEPTH_SHAPES = [
    ('{"ts":"2026-11-22T04:00:00.000Z","msg":{v},"level":"INFO","http":{"status":200}}',
     '"m"', [_DEEP, _OBJ5]),  # a field
    ('{"msg":"m","http":{"status":200,"path":{v}}}', '"/a"', [_DEEP, _OBJ5]),  # nested
    ('{"msg":"m","extra":{v},"http":{"status":200}}', "1", [_DEEP, _OBJ5, "[]"]),  # attrs
    ('{"msg":"m","http":{"status":200,"x":{v}}}', "null", [_DEEP, _OBJ5]),  # nested attrs
    # the second alias of one path (the first wins, the second is dropped unread)
    ('{"msg":"m","http.status":200,"http":{"status":{v}}}', "404", [_DEEP, _OBJ5]),
    ('{"msg":"m","http":{"status":200},"http.status":{v}}', "404", [_DEEP, _OBJ5]),
    ('{"msg":{v}}', '"m"', [_DEEP, "[]"]),  # flat
    ('{"msg":"m","tags":{v}}', "[1]", [_DEEP, _OBJ5]),  # a list in every line
    ('{"msg":"m","http":{"status":200,"x":{v}}}', '{"y":1}', [_OBJ5, _DEEP]),
    ('{"msg":"m","level":{v}}', '"INFO"', [_DEEP, "[1]", "true"]),  # and a bad field
]


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 16])
@pytest.mark.parametrize("shape", range(len(_DEPTH_SHAPES)))
def test_depth_of_compiled_shapes(shape: int, limit: int) -> None:
    """A compiled shape counts brackets only when a value it does not know as an
    object of the shape is not of a flat type: lines of the shape with deep values
    anywhere, or with a limit below the shape's depth, get the walk's outcome."""
    template, flat, deep = _DEPTH_SHAPES[shape]
    ctx = CTX._replace(max_json_depth=limit)
    lines = [template.replace("{v}", value) for value in (flat, *deep)]
    expected = []
    for line in lines:
        json_lines._TOP.clear()
        expected.append(outcome(line, ctx))
    json_lines._TOP.clear()
    for _ in range(json_lines._COMPILE_AFTER + 4):  # compiled from the flat line
        outcome(lines[0])
    assert json_lines._TOP[tuple(json.loads(lines[0]))].build is not None
    for line, want in zip(lines, expected, strict=True):
        got = outcome(line, ctx)
        assert got == want and repr(got) == repr(want), line
