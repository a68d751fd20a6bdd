"""The text form of an aggregate id, as the read models store it, computed once per id.

A batch names each booking and payment several times (its own events, the other aggregate's,
and once more in each read model that folds them), and ``str(UUID)`` is Python code: about a
seventh of a replay's writing time went to it. The text of an id never changes, so it is kept,
keyed by the id's integer (each decoded event has UUID objects of its own), in a table that
is emptied when it grows past a bound (memory stays flat however long the log is).
"""

from __future__ import annotations

from uuid import UUID

_MAX_ENTRIES = 1 << 16  # a few replay batches' worth of ids; a few MB
_texts: dict[int, str] = {}


def id_text(value: UUID) -> str:
    """``str(value)``. Safe across threads: a race at worst computes a text twice."""
    key = value.int
    text = _texts.get(key)
    if text is None:
        if len(_texts) >= _MAX_ENTRIES:
            _texts.clear()
        text = _texts[key] = str(value)
    return text
