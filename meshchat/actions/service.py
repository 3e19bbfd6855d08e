"""The action runner: reads the change feed from a persisted cursor, queues and runs rules.

One loop (a ``TaskGroup`` task) reads every record stored after its cursor, asks
``events_for`` and ``matches`` which runs it raises, and queues them together with the new
cursor in one commit: a restart misses nothing and queues nothing twice, and a record that
comes back by sync or import is a duplicate with no new place in the feed. A run is marked
running (committed) before its process starts, so a node that stops mid-run never runs it
again — at most once. Runs start subject to each rule's concurrency and a per-rule rate
limit (a backlog waits instead of flooding a gateway); a record older than
``action_runner.max_age_s`` when its turn comes does not fire; a failing run is retried
with back-off, then logged as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from meshchat.actionconfig import ActionRunnerConfig
from meshchat.actions.events import EVENTS, Event, events_for
from meshchat.actions.offline import OfflineWatch
from meshchat.actions.pacing import TokenBucket, backoff_ms
from meshchat.actions.rules import Rule, matches
from meshchat.actions.runner import Outcome, run_command
from meshchat.clock import wall_ms
from meshchat.legacyline import LegacyLine
from meshchat.records import Record
from meshchat.store.actions import ActionStore, FeedRow, NewRun, RunRow
from meshchat.store.db import Store
from meshchat.tasks import TaskGroup

log = logging.getLogger(__name__)

CURSOR = "actions"
FEED_PAGE = 200
FEED_PAGES_PER_TICK = 10
DUE_PAGE = 256
TRIM_EVERY_MS = 3_600_000
DAY_MS = 86_400_000
ERROR_PAUSE_MS = 5_000
MESSAGE_KINDS = frozenset({"msg", "file", "legacy"})
CHAT_EVENTS = frozenset(EVENTS) - {"file"}


class ActionService:
    """Runs the node's action rules over new records (DESIGN §7)."""

    def __init__(
        self,
        actions: ActionStore,
        store: Store,
        rules: Sequence[Rule],
        settings: ActionRunnerConfig,
        offline: OfflineWatch,
        tasks: TaskGroup,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.actions = actions
        self.store = store
        self.rules = {r.name: r for r in rules}
        self._ons = {r.on for r in rules}
        self.settings = settings
        self.offline = offline
        self.tasks = tasks
        self.clock = clock
        self.max_age_ms = int(settings.max_age_s * 1000)
        self.stale: Counter[str] = Counter()  # runs not queued: the record was too old
        self._running: Counter[str] = Counter()
        self._buckets = {r.name: TokenBucket(settings.rate_per_minute, clock()) for r in rules}
        self._wake = asyncio.Event()
        self._cursor = 0
        self._trimmed_at = 0
        # Scripts inherit the node's environment, minus MESHCHAT_* (theirs come per run).
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("MESHCHAT_")}

    def on_records(self, records: Sequence[Record], origin: str) -> None:
        """Ingest subscriber: new records are in the feed, so wake the loop."""
        del records, origin
        self._wake.set()

    async def prepare(self) -> None:
        """Settle what a stopped node left running and fix the cursor (before serving)."""
        lost = await self.actions.recover(self.clock())
        if lost:
            log.warning("%d action run(s) were interrupted when the node stopped", lost)
        self._cursor = await self.actions.start_cursor(CURSOR)

    async def run(self) -> None:
        """Read the feed, queue and start runs, until cancelled (a ``TaskGroup`` task)."""
        while True:
            self._wake.clear()
            try:
                await self.offline.sample()
                await self._read_feed()
                delay_ms = await self._start_due()
                await self._trim()
            except Exception:  # a failing round must not end the runner for good
                log.exception("the action runner failed a round; trying again")
                delay_ms = ERROR_PAUSE_MS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay_ms / 1000)

    # --- queueing -------------------------------------------------------------------------

    async def _read_feed(self) -> None:
        for _ in range(FEED_PAGES_PER_TICK):
            rows = await self.actions.feed(self._cursor, FEED_PAGE)
            if not rows:
                return
            now = self.clock()
            runs: list[NewRun] = []
            for row in rows:
                runs.extend(await self._runs_for(row, now))
            await self.actions.enqueue(runs, CURSOR, rows[-1].seq, now)
            self._cursor = rows[-1].seq
            if len(rows) < FEED_PAGE:
                return
        self._wake.set()  # more to read: go on after the runs that are due

    async def _runs_for(self, row: FeedRow, now: int) -> list[NewRun]:
        """Return the runs one record raises (none for records that are not messages)."""
        record = row.record
        wanted = self._ons & ({"file"} if record.kind == "file" else CHAT_EVENTS)
        if record.kind not in MESSAGE_KINDS or not wanted:
            return []  # no rule could fire: do not even read the message
        # Hidden records, banned authors and non-members' posts in a restricted channel
        # raise nothing; members' posts there only what a rule naming the channel asks.
        access = await self.store.access(record.zone)
        view = await self.store.message(record.zone, record.id, access.members_view())
        if view is None:
            return []
        gate = access.channel(view.channel) if view.to is None else None
        restricted = gate is not None and gate.restricted
        stale = now - record.ts > self.max_age_ms
        runs: list[NewRun] = []
        for event in events_for(view, record.body, row.origin):
            for rule in self.rules.values():
                if not matches(rule, event, restricted=restricted):
                    continue
                if stale:
                    self.stale[rule.name] += 1
                    continue
                due = now
                if event.event == "mention_offline":
                    notice = await self.offline.due(event.target)
                    if notice is None:
                        continue
                    due = notice
                payload = json.dumps(event.to_json(rule.name), ensure_ascii=False)
                runs.append(
                    NewRun(
                        rule.name,
                        record.id,
                        event.target,
                        event.event,
                        event.zone,
                        event.ts,
                        due,
                        payload,
                    )
                )
        return runs

    # --- starting -------------------------------------------------------------------------

    async def _start_due(self) -> int:
        """Start every run that is due and allowed; return how long to sleep (ms)."""
        now = self.clock()
        waits = [self.offline.sample_ms]
        due = await self.actions.due(now, DUE_PAGE)
        started = 0
        for row in due:
            rule = self.rules.get(row.rule)
            if rule is None:
                await self.actions.skip(row.run, "skipped", "its rule is no longer configured", now)
                continue
            if now - row.record_ts > self.max_age_ms:
                detail = "older than action_runner.max_age_s when its turn came"
                await self.actions.skip(row.run, "stale", detail, now)
                continue
            if self._running[rule.name] >= rule.concurrency:
                continue  # a run that ends wakes the loop
            bucket = self._buckets[rule.name]
            if bucket.wait_ms(now):
                waits.append(bucket.wait_ms(now))
                continue
            event = await self._prepare(row, now)
            if event is None or not bucket.take(now) or not await self.actions.start(row.run, now):
                continue
            self._running[rule.name] += 1
            started += 1
            self.tasks.spawn(self._execute(rule, row, event), f"action {rule.name}")
        if len(due) == DUE_PAGE and started:
            return 0
        next_due = await self.actions.next_due()
        if next_due is not None and next_due > now:
            waits.append(next_due - now)
        return max(1, min(waits))

    async def _prepare(self, row: RunRow, now: int) -> Event | None:
        """Return the event a run carries; a notice to someone back online is skipped."""
        event = Event.from_json(json.loads(row.payload))
        if row.event != "mention_offline":
            return event
        if not await self.offline.still_missed(event.target, row.created_at):
            await self.actions.skip(row.run, "skipped", f"{event.target} came back online", now)
            return None
        contacts = await self.offline.contacts(event.target)
        if not contacts:
            await self.actions.skip(row.run, "skipped", f"{event.target} has no contacts", now)
            return None
        return event.with_contacts(contacts)

    async def _execute(self, rule: Rule, row: RunRow, event: Event) -> None:
        """Run one attempt of a run and record how it ended."""
        try:
            outcome = await self._attempt(rule, event)
            now = self.clock()
            attempts = row.attempts + 1
            state, due_at = "ok", row.due_at
            if not outcome.ok:
                retry = not outcome.error and attempts <= rule.retries
                state = "queued" if retry else "failed"
                if retry:
                    due_at = now + backoff_ms(self.settings.retry_backoff_s, attempts)
            await self.actions.finish(
                row.run,
                state,
                now=now,
                duration_ms=outcome.duration_ms,
                exit_status=outcome.exit_status,
                detail=outcome.detail(),
                output=outcome.output(self.settings.output_bytes),
                due_at=due_at,
            )
            level = logging.INFO if state == "ok" else logging.WARNING
            log.log(
                level, "action %s on %s: %s (%s)", rule.name, event.id[:16], state, outcome.detail()
            )
        finally:
            self._running[rule.name] -= 1
            self._wake.set()

    async def _attempt(self, rule: Rule, event: Event) -> Outcome:
        stdin = json.dumps(event.to_json(rule.name), ensure_ascii=False).encode()
        env = {**self._env, **event.environment(rule.name)}
        argv = rule.argv
        line_file: str | None = None
        if rule.legacy:
            # Legacy scripts were handed a file holding the message's TSV line.
            line_file = await asyncio.to_thread(_write_line, _legacy_line(event))
            argv = (*argv, line_file)
        try:
            return await run_command(argv, stdin, env, rule.timeout, self.settings.output_bytes)
        finally:
            if line_file is not None:
                await asyncio.to_thread(Path(line_file).unlink, missing_ok=True)

    async def _trim(self) -> None:
        now = self.clock()
        if now - self._trimmed_at >= TRIM_EVERY_MS:
            self._trimmed_at = now
            await self.actions.trim(now - self.settings.keep_days * DAY_MS)

    # --- what the surfaces show ---------------------------------------------------------------

    async def log(
        self, limit: int, rule: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the newest runs as JSON, newest first."""
        return [r.to_json() for r in await self.actions.runs(limit, rule=rule, state=state)]

    def rules_json(self) -> list[dict[str, Any]]:
        """Return the configured rules (what they match and run) as JSON."""
        return [
            _rule_json(r, self._running[r.name], self.stale[r.name]) for r in self.rules.values()
        ]


def _rule_json(rule: Rule, running: int, stale: int) -> dict[str, Any]:
    return {
        "name": rule.name,
        "on": rule.on,
        "zone": sorted(rule.zones),
        "channel": sorted(rule.channels),
        "callsign": sorted(rule.callsigns),
        "match": rule.match.pattern if rule.match else "",
        "hashtag": rule.tag,
        "origin": rule.origin,
        "command": list(rule.argv),
        "timeout": rule.timeout,
        "retries": rule.retries,
        "concurrency": rule.concurrency,
        "legacy": rule.legacy,
        "running": running,
        "stale": stale,
    }


def _legacy_line(event: Event) -> str:
    text = event.text.replace("\t", " ").replace("\r", "")
    line = LegacyLine(
        event.id[:8], event.ts // 1000, text, event.callsign, event.node, "pi", event.channel
    )
    return line.to_line() + "\n"


def _write_line(line: str) -> str:
    fd, path = tempfile.mkstemp(prefix="meshchat-action-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(line)
    return path
