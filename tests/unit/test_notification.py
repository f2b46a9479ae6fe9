import pytest

from app.core.notification import Notification


def sample() -> Notification:
    return Notification(key="k1", kind="firing", routes=("ops", "email"), title="t", body="b",
                        group="rule|service=api", created_at=1.5,
                        alerts=({"rule": "r", "value": 0.4},))


def test_round_trip() -> None:
    note = sample()
    assert Notification.from_json(note.to_json()) == note


@pytest.mark.parametrize(("patch", "field"), [
    ({"key": ""}, "key"), ({"kind": "nope"}, "kind"), ({"routes": "ops"}, "routes"),
    ({"created_at": "x"}, "created_at"), ({"alerts": [1]}, "alerts"), ({"title": None}, "title"),
])
def test_bad_field_is_named(patch: dict[str, object], field: str) -> None:
    import orjson

    data = orjson.loads(sample().to_json()) | patch
    with pytest.raises(ValueError, match=field):
        Notification.from_json(orjson.dumps(data))


def test_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        Notification.from_json(b"{")
