"""Rebuild several read models in ONE pass over the ledger's log.

Each batch of the log is read and decoded once and given to every read model being rebuilt;
each read model writes its share of the batch in a transaction of its own together with its
tracking position, exactly as ``Follower.replay`` does for one. So a crash between (or in) a
batch leaves every read model consistent with its own position, and any later run, a worker's
follower or ``catch_up_together``, goes on from each one's position without applying an
event twice or skipping one.

A read model whose batch fails for good leaves the pass; once the others are done it is
finished by its own follower, which goes event by event over that batch and halts at the bad
event as it would alone (the others are not held back by it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.events import DomainEvent
from projections import tracking
from projections.event_log import head_position
from projections.failures import Failure, classify, describe
from projections.follower import (
    Follower,
    FollowerBusy,
    ProgressCallback,
    Projection,
    ReadModelHalted,
)

logger = logging.getLogger(__name__)


@dataclass
class _Member:
    follower: Follower
    projection: Projection
    topics: frozenset[str] | None  # None: every event


def replay_together(
    followers: Sequence[Follower],
    *,
    batch_size: int = 10_000,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Drop and rebuild these followers' read models from position 0 in one pass over the log;
    return each one's final position. Raises ``FollowerBusy`` if any is kept elsewhere."""
    members = _members(followers, batch_size)
    with contextlib.ExitStack() as leading:
        for member in members:
            leading.enter_context(member.follower.leading())
        for member in members:
            member.follower.reset_for_replay()
        left_behind = _catch_up(members, batch_size, progress)
    _finish_alone(left_behind)
    return {member.follower.name: member.follower.position for member in members}


def catch_up_together(
    followers: Sequence[Follower],
    *,
    batch_size: int = 10_000,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Bring these read models up to the log's head in one pass, each from its own stored
    position (after an interrupted ``replay_together``, say); return the final positions."""
    members = _members(followers, batch_size)
    with contextlib.ExitStack() as leading:
        for member in members:
            leading.enter_context(member.follower.leading())
        for member in members:
            member.follower.refresh()
            if member.follower.halt is not None:
                raise ReadModelHalted(member.follower.halt)
        left_behind = _catch_up(members, batch_size, progress)
    _finish_alone(left_behind)
    return {member.follower.name: member.follower.position for member in members}


def _members(followers: Sequence[Follower], batch_size: int) -> list[_Member]:
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    if len({follower.name for follower in followers}) != len(followers):
        raise ValueError("each read model may appear once")
    members = []
    for follower in followers:
        projection = follower.consumer
        if not isinstance(projection, Projection):
            raise TypeError(f"{follower.name} is a process manager: replaying it repeats effects")
        if follower.app is not followers[0].app or follower.store is not followers[0].store:
            raise ValueError("a pass over the log needs one ledger and one read-model store")
        follower.refuse_if_running()
        topics = getattr(projection, "topics", ()) or ()
        members.append(_Member(follower, projection, frozenset(topics) if topics else None))
    return members


def _catch_up(
    members: list[_Member], batch_size: int, progress: ProgressCallback | None
) -> list[_Member]:
    """The pass; returns the members whose batch failed for good (to be finished alone)."""
    if not members:
        return []
    app, store = members[0].follower.app, members[0].follower.store
    stop = head_position(app)
    wanted = [member.topics for member in members]
    # Read only what some member wants; with a short batch, every id up to ``stop`` is covered
    # (ids are in commit order), as in ``Follower._select``.
    topics = sorted({t for ts in wanted if ts is not None for t in ts})
    if any(ts is None for ts in wanted):
        topics = []
    start = min(member.follower.position for member in members)
    pending = [member for member in members if member.follower.position < stop]
    left_behind: list[_Member] = []
    if progress:
        progress(min(start, stop), stop)
    while pending and start < stop:
        notifications = app.recorder.select_notifications(
            start, batch_size, stop=stop, topics=topics, inclusive_of_start=False
        )
        end = notifications[-1].id if len(notifications) == batch_size else stop
        decoded = [(n.id, n.topic, app.mapper.to_domain_event(n)) for n in notifications]
        for member in list(pending):
            follower = member.follower
            if not follower.still_leading():
                raise FollowerBusy(f"follower {follower.name!r} lost its lock to another instance")
            position = follower.position
            if position >= end:
                continue  # resumed ahead of this batch
            events: list[tuple[int, DomainEvent]] = [
                (n_id, event)
                for n_id, topic, event in decoded
                if n_id > position and (member.topics is None or topic in member.topics)
            ]
            try:
                with store.transaction() as tx:
                    tracking.advance(tx, follower.name, expected=position, new=end)
                    if events:
                        member.projection.apply(tx, events)
            except Exception as error:
                if classify(error) is Failure.TRANSIENT:
                    raise
                logger.warning(
                    "%s: a batch after %d failed (%s); it leaves the one-pass replay",
                    follower.name,
                    position,
                    describe(error),
                )
                pending.remove(member)
                left_behind.append(member)
                continue
            follower.moved_to(end)
        start = end
        if progress:
            progress(min(start, stop), stop)
    return left_behind


def _finish_alone(left_behind: list[_Member]) -> None:
    for member in left_behind:
        # Event by event from its own position: everything before the bad event is applied,
        # then it halts there (``ReadModelHalted``), as a replay of it alone would.
        member.follower.run_until_caught_up()
