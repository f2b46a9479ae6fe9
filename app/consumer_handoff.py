"""The drain loop hands a record to the streams without four tasks per record.

For every record it fetched, Faust's drain loop (``Consumer._drain_messages``) runs::

    await self.wait_first(callback(message), self.suspend_flow.wait())

The callback is the conductor's: it decodes the record and puts the event into the
buffer of each stream reading its topic. mode's ``Service.wait_first`` wraps both
coroutines in tasks, adds two more waiting on the consumer's ``stopped`` and
``crashed`` events, waits for the first to finish (``asyncio.wait``) and cancels the
rest: ~51 us of CPU per record, where the callback itself takes well under 1 us and
almost never has to wait (bench/RESULTS.md, session 9). With one log record per
Kafka message that was a fifth of the worker's CPU.

``fast_handoff`` gives the consumer a ``wait_first`` that, for exactly that call and
only while the flow is not suspended and the consumer neither stopped nor crashed,
runs the callback's first step at once, as Python 3.12's eager tasks do. If the
callback finishes in that step (every buffer had room), that is the whole hand-over.
If it has to wait (a full stream buffer, the producer's buffer over its limit, flow
control), the coroutine, suspended where it is, goes on in a task under mode's own
``wait_first``: from there it is waited for, cut short by a suspended flow, or
cancelled exactly as before. Any other call goes to mode's ``wait_first`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Generator
from typing import Any

from mode.services import WaitResults


class _Continue:
    """Awaiting it goes on with ``coro``, which stopped at ``yield pending``.

    The generator protocol of ``await`` (PEP 380, as ``yield from`` delegates) from the
    middle: what ``coro`` yielded is yielded to the task, what the task sends or throws
    in (a result, a cancellation) goes to ``coro``, and ``coro``'s result is returned.
    """

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro, self.pending = coro, pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation, or what the task throws in
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value


def _waits_on(coro: Any, event: Any) -> bool:
    """``coro`` is ``event.wait()`` (an ``asyncio.Event``), not started yet."""
    code = getattr(coro, "cr_code", None)
    frame = getattr(coro, "cr_frame", None)
    return (code is type(event).wait.__code__ and frame is not None
            and frame.f_locals.get("self") is event)


def fast_handoff(consumer: Any) -> Any:
    """Make ``consumer`` (Faust's ``Consumer``) hand records over as described above."""
    wait_first: Callable[..., Coroutine[Any, Any, WaitResults]] = consumer.wait_first

    async def eager_wait_first(*coros: Any, timeout: Any = None) -> WaitResults:
        if (len(coros) == 2 and timeout is None
                and _waits_on(coros[1], consumer.suspend_flow)
                and not consumer.suspend_flow.is_set()
                and not consumer._stopped.is_set() and not consumer._crashed.is_set()):
            callback, suspended = coros
            try:
                pending = callback.send(None)
            except StopIteration as done:
                suspended.close()
                return WaitResults([callback], [done.value], False)
            except BaseException:
                suspended.close()
                raise
            return await wait_first(_Continue(callback, pending), suspended)
        return await wait_first(*coros, timeout=timeout)

    consumer.wait_first = eager_wait_first
    return consumer
