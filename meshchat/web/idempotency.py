"""Idempotent posts: a repeated ``Idempotency-Key`` answers with the record it first made.

A browser on a slow radio link may retry a post whose reply was lost although the node
committed it. The key (chosen by the client, one per message) maps to the record id, per
session, so the retry gets the first record's id instead of a duplicate message. The map
lives in memory only (it does not survive a restart), holds at most ``MAX_KEYS`` keys per
session and forgets a key after ``TTL_S``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from meshchat.records import Record
from meshchat.web.http import fail

HEADER = "Idempotency-Key"
MAX_KEYS = 1000  # per session
TTL_S = 3600.0
MAX_SESSIONS = 10_000  # the same bound as web.auth's sessions
_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,128}")


@dataclass
class _Entry:
    """One key: the request it was first used for and, once committed, its record."""

    fingerprint: str
    at: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: tuple[str, int] | None = None  # (id hex, ts) once the first post committed


def fingerprint(body: dict[str, Any]) -> str:
    """Return a digest of a request body, to tell a retry from a reused key."""
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def parse_key(value: str | None) -> str | None:
    """Return the header's key, None when absent, or a 400 when it is malformed."""
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        fail(400, "bad_idempotency_key", f"{HEADER} must be 8-128 letters, digits or -_.:")
    return value


class IdempotencyKeys:
    """Per-session keys of recent posts and the record each produced (memory only)."""

    def __init__(
        self,
        max_keys: int = MAX_KEYS,
        ttl_s: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_keys = max_keys
        self.ttl_s = ttl_s
        self._clock = clock
        self._sessions: dict[str, OrderedDict[str, _Entry]] = {}

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._sessions.values())

    async def once(
        self, session: str, key: str, print_: str, make: Callable[[], Awaitable[Record]]
    ) -> tuple[str, int, bool]:
        """Run ``make`` once per (session, key); return (id hex, ts, whether a repeat).

        A repeat of a post still in progress waits for it; a repeat of one that failed
        runs again. The same key with another body is a 422.
        """
        keys = self._keys(session)
        entry = keys.get(key)
        while entry is not None:
            if entry.fingerprint != print_:
                fail(422, "idempotency_key_reused", f"this {HEADER} was used for another post")
            await entry.done.wait()  # at once when the first post has committed
            result = entry.result
            if result is not None:
                return result[0], result[1], True
            entry = keys.get(key)  # the first attempt failed and left: try ourselves
        entry = _Entry(print_, self._clock())
        keys[key] = entry
        self._trim(keys)
        try:
            record = await make()
        except BaseException:
            if keys.get(key) is entry:
                del keys[key]
            entry.done.set()
            raise
        entry.result = (record.id_hex, record.ts)
        entry.done.set()
        return record.id_hex, record.ts, False

    def _keys(self, session: str) -> OrderedDict[str, _Entry]:
        keys = self._sessions.get(session)
        if keys is None:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sweep()
            keys = self._sessions[session] = OrderedDict()
        self._expire(keys)
        return keys

    def _expire(self, keys: OrderedDict[str, _Entry]) -> None:
        cutoff = self._clock() - self.ttl_s
        while keys:
            oldest = next(iter(keys.values()))
            if oldest.at > cutoff or not oldest.done.is_set():
                return
            keys.popitem(last=False)

    def _trim(self, keys: OrderedDict[str, _Entry]) -> None:
        while len(keys) > self.max_keys:
            keys.popitem(last=False)

    def _sweep(self) -> None:
        """Drop sessions with nothing left; then, if still full, the oldest sessions."""
        for token, keys in list(self._sessions.items()):
            self._expire(keys)
            if not keys:
                del self._sessions[token]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
