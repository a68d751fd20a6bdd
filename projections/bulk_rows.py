"""Set-based writes of a batch's rows, shared by the read models that fold a batch per row.

On PostgreSQL the rows a batch opens are loaded with one binary ``COPY`` into the table, and
the changes to rows stored before the batch, when there are many of one shape, with a binary
``COPY`` into a temporary staging table and one ``UPDATE ... FROM`` it: no statement, parameter
adaptation or round trip per row, and no per-element array adaptation either. On SQLite
(in-process, no round trips) ``executemany`` is as good and stays the path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from projections.store import Transaction

# Fewer changed rows of one shape than this go by ``executemany`` (pipelined by psycopg): a
# staging table costs a CREATE, a COPY and its catalog rows, worth it only for many rows.
STAGING_MIN_ROWS = 200
_POSTGRES_TYPES = {
    "TEXT": "text",
    "BIGINT": "int8",
    "TIMESTAMPTZ": "timestamptz",
    "BOOLEAN": "bool",
}
# Placeholders per IN (...) look-up on SQLite: well under its parameter limit.
_LOOKUP_CHUNK = 500


def column_types(create_table: str) -> dict[str, str]:
    """Each column's SQL type, read from a ``CREATE TABLE`` statement."""
    return {
        match.group(1): match.group(2)
        for match in re.finditer(
            r"^\s+(\w+) (TEXT|BIGINT|TIMESTAMPTZ|BOOLEAN)\b", create_table, re.M
        )
    }


def stored_ids(tx: Transaction, table: str, ids: list[str]) -> set[str]:
    """Which of these row ids the table holds."""
    unique = sorted(set(ids))
    if not unique:
        return set()
    if tx.kind == "postgres":
        if not any("," in id_ for id_ in unique):
            # One text parameter the server splits: psycopg adapts a list element by element
            # in Python, a few ms for a replay batch's ids.
            query = f"SELECT id FROM {table} WHERE id = ANY(string_to_array(%s, ','))"
            rows = tx.execute(query, [",".join(unique)])
        else:
            rows = tx.execute(f"SELECT id FROM {table} WHERE id = ANY(%s::text[])", [unique])
        return {row["id"] for row in rows.fetchall()}
    found: set[str] = set()
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        rows = tx.execute(f"SELECT id FROM {table} WHERE id IN ({marks})", chunk)
        found.update(row["id"] for row in rows.fetchall())
    return found


def insert_new_rows(
    tx: Transaction, table: str, types: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    """Insert rows the caller has checked, in this transaction, the table does not hold.
    Values are plain (``str``, a ``StrEnum``, ``int``, ``bool``, aware ``datetime``, ``None``):
    COPY adapts nothing, so ids are given as ``str``.

    PostgreSQL: one binary COPY. It has no ``ON CONFLICT``, and needs none: the fold looked the
    ids up in this transaction and the follower's lock makes it the table's only writer; a
    conflict would mean a bug, and fails the batch (``IntegrityError``) rather than pass
    unseen. SQLite: ``executemany`` of ``INSERT ... ON CONFLICT (id) DO NOTHING``.
    """
    if not rows:
        return
    columns = list(types)
    if tx.kind == "postgres":
        tx.copy_rows(
            table,
            columns,
            map(itemgetter(*columns), rows),
            types=[_POSTGRES_TYPES[types[column]] for column in columns],
        )
        return
    marks = ", ".join(f"%({column})s" for column in columns)
    tx.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING",
        rows,
    )


# The right-hand side of ``column = ...`` for a changed value: ``%(column)s`` in a statement per
# row, ``staging.column`` in an UPDATE ... FROM a staging table.
ValueOf = Callable[[str], str]
# A shape's SET assignments, given how to refer to each changed value.
Assignments = Callable[[tuple[str, ...], ValueOf], list[str]]


def update_rows(
    tx: Transaction,
    table: str,
    types: dict[str, str],
    rows: Sequence[dict[str, Any]],
    assignments: Assignments,
) -> None:
    """Apply the changes to stored rows, each a dict of ``id`` and the columns it sets (keys
    beyond the table's columns are the caller's, typed in ``types`` and used by
    ``assignments``). Rows are grouped by the columns they set; one UPDATE per group."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_shape.setdefault(tuple(sorted(row)), []).append(row)
    for number, (shape, group) in enumerate(by_shape.items()):
        if tx.kind == "postgres" and len(group) >= STAGING_MIN_ROWS:
            _update_from_staging(tx, table, types, shape, group, assignments, number)
            continue
        sets = ", ".join(assignments(shape, lambda column: f"%({column})s"))
        tx.executemany(f"UPDATE {table} SET {sets} WHERE id = %(id)s", group)


def _update_from_staging(
    tx: Transaction,
    table: str,
    types: dict[str, str],
    shape: tuple[str, ...],
    rows: list[dict[str, Any]],
    assignments: Assignments,
    number: int,
) -> None:
    staging = f"{table}_changes_{number}"
    definitions = ", ".join(f"{column} {types[column]}" for column in shape)
    tx.execute(f"CREATE TEMPORARY TABLE {staging} ({definitions}) ON COMMIT DROP")
    tx.copy_rows(
        staging,
        shape,
        map(itemgetter(*shape), rows),
        types=[_POSTGRES_TYPES[types[column]] for column in shape],
    )
    sets = ", ".join(assignments(shape, lambda column: f"{staging}.{column}"))
    tx.execute(f"UPDATE {table} SET {sets} FROM {staging} WHERE {table}.id = {staging}.id")


class RowFold:
    """A batch folded per row of ``table``: the rows it opens (inserted with whatever followed
    in the batch) and, for rows stored before the batch, the last value of each column it
    changed; then written with the set-based statements above.

    Whether a row is stored already is looked up once per batch (``stored_ids``): an event that
    opens a stored row changes nothing (as ``ON CONFLICT (id) DO NOTHING`` would), and what the
    batch changed on a row before opening it changed nothing either (no row yet), so the result
    is that of applying the events one by one. ``update_types`` may type keys beyond the
    table's columns, which ``assignments`` turns into SQL.
    """

    def __init__(
        self,
        table: str,
        stored: set[str],
        column_types: dict[str, str],
        assignments: Assignments,
        update_types: dict[str, str] | None = None,
    ) -> None:
        self.table = table
        self.stored = stored
        self.column_types = column_types
        self.update_types = update_types or column_types
        self.assignments = assignments
        self.inserts: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}

    def open(self, key: str, make_row: Callable[[], dict[str, Any]]) -> bool:
        """Insert ``make_row()`` as row ``key`` unless it is stored (before the batch or by
        it); whether it did."""
        if key in self.stored:
            return False
        self.updates.pop(key, None)  # no row yet: those UPDATEs would have matched nothing
        self.stored.add(key)
        self.inserts[key] = make_row()
        return True

    def row(self, key: str) -> dict[str, Any]:
        """Row ``key`` as the batch opened it, or the changes to it as stored before."""
        row = self.inserts.get(key)
        return row if row is not None else self.updates.setdefault(key, {"id": key})

    def update(
        self, key: str, changes: dict[str, Any], position: int, updated_at: datetime
    ) -> None:
        row = self.row(key)
        row.update(changes)
        row["last_position"] = position
        row["updated_at"] = updated_at

    def write(self, tx: Transaction) -> None:
        insert_new_rows(tx, self.table, self.column_types, list(self.inserts.values()))
        update_rows(
            tx, self.table, self.update_types, list(self.updates.values()), self.assignments
        )
        self.inserts.clear()
        self.updates.clear()
