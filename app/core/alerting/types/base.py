"""What every rule type is: a small class with its own validated config.

A rule type never keeps state on ``self``: the state of one alert fingerprint is a JSON
dict passed in and changed in place, so the alerts agent can keep it in a changelogged
table and a restart resumes exactly. Two kinds exist:

* event rules (``source = "events"``) see the events that pass the rule's filter, one by
  one, in event time (``observe``), and the event-time clock (``tick``);
* window rules (``source = "windows"``) see closed windows of their service
  (``windows.closed`` documents, ``app.core.windows.stats.WindowStats.final``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from app.core.alerting.models import RuleSpec

Source = Literal["events", "windows"]
State = dict[str, Any]


class TypeConfig(BaseModel):
    """Base of every rule type's config: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One evaluation of one alert fingerprint: is the condition true, and by how much."""

    active: bool
    at: float  # event time the verdict is about (end of the window, the event's time)
    value: float | None = None
    threshold: float | None = None  # the bound, or the baseline's limit
    comparison: str = ""  # "error_rate 0.41 > 0.2 over 1m"
    window: tuple[float, float] | None = None  # (start, end) the value was taken over
    baseline: Mapping[str, float] | None = None  # spike: mean, stddev, z


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    field: str
    message: str


@dataclass(slots=True)
class Binding:
    """What the deployment offers a rule type: closed-window sizes (seconds)."""

    window_sizes: tuple[int, ...] = (10, 60)
    issues: list[ConfigIssue] = field(default_factory=list)


class RuleType(ABC):
    name: ClassVar[str]
    Config: ClassVar[type[TypeConfig]]
    source: ClassVar[Source] = "events"

    def __init__(self, config: TypeConfig, spec: RuleSpec) -> None:
        self.config = config
        self.spec = spec

    def bind(self, binding: Binding) -> None:
        """Check the config against the deployment; add issues to ``binding.issues``."""
        return None

    def extra_labels(self) -> tuple[str, ...]:
        """Event field paths that belong to the fingerprint besides ``group_by``."""
        return ()

    def extract(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Extra values an event rule keeps from a matching event (repartitioned item)."""
        return {}

    def accepts(self, doc: Mapping[str, Any]) -> bool:
        """Whether a document passing the filter is for this rule (windows: the size)."""
        return True

    @abstractmethod
    def observe(self, state: State, item: Mapping[str, Any], at: float) -> Verdict | None:
        """Fold one item (a slim event or a closed window) into ``state``."""

    def tick(self, state: State, now: float) -> Verdict | None:
        """The clock moved to ``now`` (event time) without an item for this fingerprint."""
        return None

    def needs_tick(self, state: State) -> bool:
        return False

    @abstractmethod
    def describe(self) -> str:
        """The condition in words (``error_rate > 0.2 over 1m``)."""


def pick_granularity(window_s: float, sizes: tuple[int, ...]) -> int | None:
    """The largest closed-window size that tiles ``window_s`` exactly."""
    fits = [s for s in sizes if window_s >= s and abs(window_s / s - round(window_s / s)) < 1e-9]
    return max(fits) if fits else None
