"""The actions' tables (schema version 3): the runs and the cursor over the change feed.

Every statement is named here and runs through the store's one writer or its reader
(DESIGN §4). Nothing in these tables is replicated: they belong to this node alone. The
UNIQUE (rule, record_id, target) key of ``action_runs`` is what makes a run happen at most
once; queueing runs and moving the cursor past their records commit together, so a
restart neither misses a record nor queues one twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from meshchat.records import Record, load_trusted
from meshchat.store.db import Store

# --- the change feed, read from the cursor on ---------------------------------------------

FEED = """
SELECT seq, zone, kind, origin, S, sig FROM records WHERE seq > ? ORDER BY seq LIMIT ?
"""
LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM records"
CURSOR_GET = "SELECT seq FROM action_cursor WHERE name = ?"
CURSOR_SET = """
INSERT INTO action_cursor (name, seq) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET seq = excluded.seq
"""

# --- runs ---------------------------------------------------------------------------------

RUN_COLS = (
    "run, rule, record_id, target, event, zone, record_ts, state, attempts, due_at, "
    "created_at, started_at, finished_at, duration_ms, exit_status, detail, output, payload"
)
ENQUEUE = """
INSERT OR IGNORE INTO action_runs
    (rule, record_id, target, event, zone, record_ts, state, due_at, created_at, payload)
VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)
"""
RECOVER = """
UPDATE action_runs SET state = 'interrupted', finished_at = ?,
    detail = 'the node stopped while it ran; not run again (at most once)'
WHERE state = 'running'
"""
DUE = f"""
SELECT {RUN_COLS} FROM action_runs WHERE state = 'queued' AND due_at <= ?
ORDER BY due_at, run LIMIT ?
"""
NEXT_DUE = "SELECT min(due_at) FROM action_runs WHERE state = 'queued'"
START = """
UPDATE action_runs SET state = 'running', attempts = attempts + 1, started_at = ?
WHERE run = ? AND state = 'queued'
"""
FINISH = """
UPDATE action_runs SET state = ?, finished_at = ?, duration_ms = ?, exit_status = ?,
    detail = ?, output = ?, due_at = ?
WHERE run = ?
"""
SKIP = """
UPDATE action_runs SET state = ?, finished_at = ?, detail = ? WHERE run = ? AND state = 'queued'
"""
RUNS = f"""
SELECT {RUN_COLS} FROM action_runs
WHERE (:rule IS NULL OR rule = :rule) AND (:state IS NULL OR state = :state)
ORDER BY run DESC LIMIT :limit
"""
TRIM = "DELETE FROM action_runs WHERE finished_at IS NOT NULL AND finished_at < ?"


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One record of the change feed, with where it came from ("local", "peer:…", "import")."""

    seq: int
    origin: str
    record: Record


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to queue: one rule for one record (and one addressee, for addressed events)."""

    rule: str
    record_id: bytes
    target: str
    event: str
    zone: str
    record_ts: int
    due_at: int
    payload: str  # the event's JSON, as the script will read it


@dataclass(frozen=True, slots=True)
class RunRow:
    """One row of the action log."""

    run: int
    rule: str
    record_id: bytes
    target: str
    event: str
    zone: str
    record_ts: int
    state: str
    attempts: int
    due_at: int
    created_at: int
    started_at: int | None
    finished_at: int | None
    duration_ms: int | None
    exit_status: int | None
    detail: str
    output: str
    payload: str

    def to_json(self) -> dict[str, Any]:
        """Return the action log's JSON form: the run and a short view of its record."""
        try:
            event = json.loads(self.payload)
        except ValueError:
            event = {}
        text = str(event.get("text", ""))
        return {
            "run": self.run,
            "rule": self.rule,
            "event": self.event,
            "record": {
                "id": self.record_id.hex(),
                "zone": self.zone,
                "channel": event.get("channel"),
                "callsign": event.get("callsign"),
                "text": text[:120],
                "ts": self.record_ts,
            },
            "target": self.target or None,
            "state": self.state,
            "attempts": self.attempts,
            "queued_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
            "exit_status": self.exit_status,
            "detail": self.detail,
            "output": self.output,
        }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _run(row: Sequence[Any]) -> RunRow:
    return RunRow(
        run=int(row[0]),
        rule=str(row[1]),
        record_id=bytes(row[2]),
        target=str(row[3]),
        event=str(row[4]),
        zone=str(row[5]),
        record_ts=int(row[6]),
        state=str(row[7]),
        attempts=int(row[8]),
        due_at=int(row[9]),
        created_at=int(row[10]),
        started_at=_int(row[11]),
        finished_at=_int(row[12]),
        duration_ms=_int(row[13]),
        exit_status=_int(row[14]),
        detail=str(row[15]),
        output=str(row[16]),
        payload=str(row[17]),
    )


class ActionStore:
    """The actions' view of the store: its own tables, through the store's connections."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- the feed -----------------------------------------------------------------------

    async def cursor(self, name: str) -> int | None:
        """Return how far ``name`` has read the change feed, or None before its first start."""
        rows = await self.store._fetch(CURSOR_GET, (name,))
        return int(rows[0][0]) if rows else None

    async def start_cursor(self, name: str) -> int:
        """Return the cursor, setting it to the feed's end on the very first start."""
        found = await self.cursor(name)
        if found is not None:
            return found
        async with self.store._write() as conn:
            rows = list(await conn.execute_fetchall(LAST_SEQ))
            seq = int(rows[0][0])
            await conn.execute(CURSOR_SET, (name, seq))
        return seq

    async def feed(self, after_seq: int, limit: int) -> list[FeedRow]:
        """Return up to ``limit`` records of every zone stored after ``after_seq``."""
        rows = await self.store._fetch(FEED, (after_seq, limit))
        return [FeedRow(int(r[0]), str(r[3]), load_trusted(bytes(r[4]), bytes(r[5]))) for r in rows]

    async def enqueue(self, runs: Sequence[NewRun], name: str, seq: int, now: int) -> int:
        """Queue ``runs`` (each at most once, ever) and move the cursor, in one commit."""
        async with self.store._write() as conn:
            added = 0
            for r in runs:
                values = (r.rule, r.record_id, r.target, r.event, r.zone, r.record_ts)
                cursor = await conn.execute(ENQUEUE, (*values, r.due_at, now, r.payload))
                added += cursor.rowcount
            await conn.execute(CURSOR_SET, (name, seq))
        return added

    # --- runs -----------------------------------------------------------------------------

    async def recover(self, now: int) -> int:
        """Mark the runs a stopped node left running as interrupted; return how many."""
        async with self.store._write() as conn:
            cursor = await conn.execute(RECOVER, (now,))
            return int(cursor.rowcount)

    async def due(self, now: int, limit: int) -> list[RunRow]:
        """Return queued runs that are due, oldest first."""
        return [_run(r) for r in await self.store._fetch(DUE, (now, limit))]

    async def next_due(self) -> int | None:
        """Return when the next queued run is due (ms), or None when none is queued."""
        rows = await self.store._fetch(NEXT_DUE, ())
        return None if rows[0][0] is None else int(rows[0][0])

    async def start(self, run: int, now: int) -> bool:
        """Mark a queued run as running (committed before its process starts)."""
        async with self.store._write() as conn:
            cursor = await conn.execute(START, (now, run))
            return bool(cursor.rowcount)

    async def finish(
        self,
        run: int,
        state: str,
        *,
        now: int,
        duration_ms: int | None,
        exit_status: int | None,
        detail: str,
        output: str,
        due_at: int,
    ) -> None:
        """Record how a run ended; ``state`` "queued" puts it back for a retry at ``due_at``."""
        finished = None if state == "queued" else now
        async with self.store._write() as conn:
            await conn.execute(
                FINISH, (state, finished, duration_ms, exit_status, detail, output, due_at, run)
            )

    async def skip(self, run: int, state: str, detail: str, now: int) -> None:
        """End a queued run without running it (``stale``, ``skipped``)."""
        async with self.store._write() as conn:
            await conn.execute(SKIP, (state, now, detail, run))

    async def runs(
        self, limit: int, *, rule: str | None = None, state: str | None = None
    ) -> list[RunRow]:
        """Return the newest runs, newest first, optionally of one rule or state."""
        params = {"rule": rule, "state": state, "limit": limit}
        return [_run(r) for r in await self.store._fetch(RUNS, params)]

    async def trim(self, before_ms: int) -> int:
        """Forget runs that finished before ``before_ms``; return how many went."""
        async with self.store._write() as conn:
            cursor = await conn.execute(TRIM, (before_ms,))
            return int(cursor.rowcount)
