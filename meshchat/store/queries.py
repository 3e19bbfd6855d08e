"""Every SQL statement of the store, by name (DESIGN §4); nothing outside store/ holds SQL.

Page queries name ``shown = 1`` / ``shown = 2`` literally so SQLite can use the partial
indexes of schema.py; functions build only the number of ``?`` placeholders, never values.
"""

from __future__ import annotations

# The columns a reader needs to rebuild a record; ``RECORD_COLS`` order is what
# ``views.Row`` expects.
RECORD_COLS = "seq, id, S, sig"

# --- connection setup -------------------------------------------------------------------

PRAGMAS_COMMON = (
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = OFF",
    # A modest page cache per connection (KiB): an idle node stays small (DESIGN §9).
    "PRAGMA cache_size = -4096",
    "PRAGMA mmap_size = 0",
)
PRAGMA_WAL = "PRAGMA journal_mode = WAL"
# FULL: a commit is on disk before insert() returns, so an ack means durable (DESIGN §4).
PRAGMA_SYNC_FULL = "PRAGMA synchronous = FULL"
PRAGMA_JOURNAL_LIMIT = "PRAGMA journal_size_limit = 16777216"
PRAGMA_QUERY_ONLY = "PRAGMA query_only = ON"
USER_VERSION = "PRAGMA user_version"
APPLICATION_ID = "PRAGMA application_id"
COUNT_SCHEMA_OBJECTS = "SELECT count(*) FROM sqlite_master"
INTEGRITY_CHECK = "PRAGMA integrity_check"
QUICK_CHECK = "PRAGMA quick_check"
BEGIN_WRITE = "BEGIN IMMEDIATE"
BEGIN_READ = "BEGIN"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"

# --- ingest -------------------------------------------------------------------------------

MAX_SEQ = "SELECT coalesce(max(seq), 0) FROM records"
# seq is given explicitly (max + 1, ... inside the write transaction), so ingest knows the
# FTS rowid of every new message without reading it back.
INSERT_RECORD = """
INSERT INTO records
    (seq, id, zone, ts, author, kind, shown, channel, callsign, target, to_callsign, dm_pair,
     reply_to, S, sig, received_at, origin)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# Derived tables, added to once per batch with the batch's totals.
ADD_ZONE_COUNT = """
INSERT INTO zone_stats (zone, count) VALUES (?, ?)
ON CONFLICT (zone) DO UPDATE SET count = count + excluded.count
"""
ADD_AUTHOR_HOUR = """
INSERT INTO author_hours (zone, author, callsign, hour, count) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (zone, author, callsign, hour) DO UPDATE SET count = count + excluded.count
"""
ADD_CHANNEL_COUNT = """
INSERT INTO channel_stats (zone, channel, count, last_ts) VALUES (?, ?, ?, ?)
ON CONFLICT (zone, channel) DO UPDATE
SET count = count + excluded.count, last_ts = max(last_ts, excluded.last_ts)
"""
# ts and id keep the earliest claim (for listing); first_seq keeps the first arrival.
ADD_CLAIM = """
INSERT INTO claims (zone, callsign, author, ts, id, first_seq) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (zone, callsign, author) DO UPDATE SET
    ts = CASE WHEN (excluded.ts, excluded.id) < (claims.ts, claims.id)
              THEN excluded.ts ELSE claims.ts END,
    id = CASE WHEN (excluded.ts, excluded.id) < (claims.ts, claims.id)
              THEN excluded.id ELSE claims.id END
"""
FTS_INSERT = "INSERT INTO message_fts (rowid, text) VALUES (?, ?)"
FTS_DELETE = "DELETE FROM message_fts WHERE rowid = ?"


def _marks(n: int) -> str:
    return ",".join("?" * n)


def existing_ids(n: int) -> str:
    """Select which of ``n`` ids are stored."""
    return f"SELECT id FROM records WHERE id IN ({_marks(n)})"


def author_hours(n: int) -> str:
    """Select the per-hour record counts of ``n`` (zone, author, callsign, hour) keys."""
    keys = ",".join("(?,?,?,?)" for _ in range(n))
    return (
        "SELECT zone, author, callsign, hour, count FROM author_hours "
        f"WHERE (zone, author, callsign, hour) IN (VALUES {keys})"
    )


def records_by_id(n: int) -> str:
    """Select ``RECORD_COLS`` plus shown and kind of ``n`` records by id."""
    return f"SELECT {RECORD_COLS}, shown, kind, target FROM records WHERE id IN ({_marks(n)})"


def records_targeting(n: int) -> str:
    """Select the edits, deletes and reactions aimed at ``n`` ids, in (ts, id) order."""
    return f"SELECT {RECORD_COLS} FROM records WHERE target IN ({_marks(n)}) ORDER BY ts, id"


def envelopes_by_id(n: int) -> str:
    """Select (id, S, sig) of ``n`` records by id."""
    return f"SELECT id, S, sig FROM records WHERE id IN ({_marks(n)})"


# --- sync ---------------------------------------------------------------------------------

RECORD_BY_ID = "SELECT S, sig FROM records WHERE id = ?"
# An announced id prefix (docs/decisions.md "Dissemination"): a range seek on the id index.
BY_PREFIX = "SELECT S, sig FROM records WHERE id BETWEEN ? AND ? LIMIT 1"
# Live updates (web/live.py): what was stored in a zone after a local sequence number.
CHANGES = """
SELECT seq, kind, id, target FROM records WHERE seq > ? AND zone = ? ORDER BY seq LIMIT ?
"""
ITEMS = "SELECT ts, id FROM records WHERE zone = ? AND ts >= ? ORDER BY ts, id"
# Pages of records to send as they are (bootstrap, export): stubs are no records to send.
RANGE_PAGE = """
SELECT ts, id, S, sig FROM records WHERE zone = ? AND (ts, id) > (?, ?) AND sig != X''
ORDER BY ts, id LIMIT ?
"""
ZONE_COUNTS = "SELECT zone, count FROM zone_stats WHERE count > 0 ORDER BY zone"

# --- message pages ------------------------------------------------------------------------

CURSOR = "SELECT ts, id FROM records WHERE zone = ? AND id = ?"
MESSAGE = f"SELECT {RECORD_COLS} FROM records WHERE zone = ? AND id = ? AND shown > 0"
# A thread: its first message and the replies to it, oldest first.
THREAD = f"""
SELECT {RECORD_COLS} FROM records
WHERE zone = :zone AND shown > 0 AND (id = :root OR reply_to = :root)
ORDER BY ts, id LIMIT :limit
"""
# The direct-message conversations a callsign takes part in (dm_pair is "A\nB", sorted).
CONVERSATIONS = """
SELECT dm_pair, max(ts), count(*) FROM records
WHERE zone = :zone AND shown = 2
  AND (dm_pair LIKE :callsign || char(10) || '%' OR dm_pair LIKE '%' || char(10) || :callsign)
GROUP BY dm_pair ORDER BY max(ts) DESC
"""

# Which rows a page draws from, by view: (FROM/WHERE fragment, parameter names).
_PUBLIC = "FROM records WHERE zone = :zone AND shown = 1"
_CHANNEL = "FROM records WHERE zone = :zone AND shown = 1 AND channel = :channel"
_DIRECT = "FROM records WHERE zone = :zone AND shown = 2 AND dm_pair = :dm"
# Search joins FTS first (CROSS JOIN fixes the loop order): walking the zone's index and
# probing FTS per row is far slower for rare words.
_SEARCH_FROM = (
    "FROM message_fts CROSS JOIN records ON records.seq = message_fts.rowid "
    "WHERE message_fts MATCH :q AND zone = :zone"
)


def page(view: str, window: str, search: bool, extra: str = "") -> str:
    """Return the page query for ``view`` (public|channel|direct) and ``window``.

    ``window``: newest | before | after | since. Named parameters: zone, channel, dm, q,
    ts, id, limit. Descending windows are reversed by the caller. ``extra``: more
    `` AND`` terms over ``records`` (what the reader may not see, ``store.access``).
    """
    if search:
        base = (
            _SEARCH_FROM
            + {
                "public": " AND shown = 1",
                "channel": " AND shown = 1 AND channel = :channel",
                "direct": " AND shown = 2 AND dm_pair = :dm",
            }[view]
        )
    else:
        base = {"public": _PUBLIC, "channel": _CHANNEL, "direct": _DIRECT}[view]
    cond, order = {
        "newest": ("", "DESC"),
        "before": (" AND (ts, id) < (:ts, :id)", "DESC"),
        "after": (" AND (ts, id) > (:ts, :id)", "ASC"),
        "since": (" AND ts >= :ts", "ASC"),
    }[window]
    cols = "records.seq, records.id, records.S, records.sig"
    return f"SELECT {cols} {base}{extra}{cond} ORDER BY ts {order}, id {order} LIMIT :limit"


def recent_search(view: str, window: str, extra: str = "") -> str:
    """Return a search over only the newest ``:scan`` rows of a view (newest|before).

    Exact whenever it fills ``:limit``: frequent words are found near the top without
    joining every match; otherwise the caller falls back to the FTS-first ``page``.
    """
    base = {"public": _PUBLIC, "channel": _CHANNEL, "direct": _DIRECT}[view]
    cond = {"newest": "", "before": " AND (ts, id) < (:ts, :id)"}[window]
    # The FTS side is bounded by the smallest seq among the recent rows: FTS5 seeks to a
    # rowid range, so a frequent term costs its recent matches, not all of them.
    return f"""
WITH recent AS (SELECT seq, ts, id {base}{extra}{cond} ORDER BY ts DESC, id DESC LIMIT :scan)
SELECT records.seq, records.id, records.S, records.sig FROM (
    SELECT seq AS hit, ts AS hit_ts, id AS hit_id FROM recent
    WHERE seq IN (
        SELECT rowid FROM message_fts
        WHERE message_fts MATCH :q AND rowid >= (SELECT min(seq) FROM recent)
    )
    ORDER BY ts DESC, id DESC LIMIT :limit
) CROSS JOIN records ON records.seq = hit ORDER BY hit_ts DESC, hit_id DESC
"""


# Every claim of the given callsigns (a JSON array) in arrival order; the binding is the
# first whose author is not a node key (docs/decisions.md "Identity").
CLAIMS_OF = """
SELECT callsign, author FROM claims
WHERE zone = :zone AND callsign IN (SELECT value FROM json_each(:callsigns))
ORDER BY callsign, first_seq
"""
# Callsigns claimed by more than one key, for the disputes on the status page.
CONTESTED = """
SELECT callsign, author FROM claims
WHERE zone = :zone AND callsign IN (
    SELECT callsign FROM claims WHERE zone = :zone GROUP BY callsign HAVING count(*) > 1)
ORDER BY callsign, first_seq
"""
# The records that established each claim here, in arrival order: a newcomer that
# bootstraps from this node ingests them first, so it sees the same first claims.
FIRST_CLAIMS = """
SELECT c.first_seq, r.id FROM claims c JOIN records r ON r.seq = c.first_seq
WHERE c.zone = :zone AND r.ts >= :since ORDER BY c.first_seq
"""
NODE_AUTHORS = "SELECT DISTINCT author FROM records WHERE kind = 'node'"
DIRECT_PEERS = "SELECT key FROM direct_peers"
ADD_DIRECT_PEER = "INSERT OR IGNORE INTO direct_peers (key, first_seen) VALUES (?, ?)"
NODE_VOUCHES = "SELECT via, key FROM node_vouches"
CLEAR_VOUCHES = "DELETE FROM node_vouches WHERE via = ?"
ADD_VOUCH = "INSERT OR IGNORE INTO node_vouches (via, key) VALUES (?, ?)"
SESSIONS = "SELECT token_hash, sealed, expires_at FROM sessions WHERE expires_at > ?"
SAVE_SESSION = "INSERT OR REPLACE INTO sessions (token_hash, sealed, expires_at) VALUES (?, ?, ?)"
DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = ?"
EXPIRE_SESSIONS = "DELETE FROM sessions WHERE expires_at <= ?"
ADD_AUTHORED = "INSERT OR IGNORE INTO authored (id, device) VALUES (?, ?)"
AUTHORED = "SELECT device FROM authored WHERE id = ?"


def authored_among(n: int) -> str:
    """Select which of ``n`` record ids the device (the first parameter) posted here."""
    return f"SELECT id FROM authored WHERE device = ? AND id IN ({_marks(n)})"


# --- channels and callsigns ---------------------------------------------------------------

CHANNEL_STATS = "SELECT channel, count, last_ts FROM channel_stats WHERE zone = ?"
CHANNEL_DEFS = f"""
SELECT {RECORD_COLS} FROM records WHERE zone = ? AND kind = 'channel' ORDER BY channel, seq
"""
# Distinct callsigns by prefix: one index seek per result, however many records each has.
CALLSIGNS = """
WITH RECURSIVE c(cs) AS (
    SELECT (SELECT min(callsign) FROM claims
            WHERE zone = :zone AND callsign >= :lo AND callsign < :hi)
    UNION ALL
    SELECT (SELECT min(callsign) FROM claims
            WHERE zone = :zone AND callsign > c.cs AND callsign < :hi)
    FROM c WHERE c.cs IS NOT NULL
)
SELECT cs FROM c WHERE cs IS NOT NULL LIMIT :limit
"""

# --- meta ---------------------------------------------------------------------------------

META_GET = "SELECT value FROM meta WHERE key = ?"
META_SET = """
INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""

# --- prune --------------------------------------------------------------------------------

# The (ts, id) of the max_records-th newest record: everything below it is over the cap.
NTH_NEWEST = "SELECT ts, id FROM records WHERE zone = ? ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?"
# A prune candidate: old (or over the cap) and not in a pinned channel. :pinned is JSON.
# Channel records are never candidates: who owns and who may read a channel outlives its
# messages, as a callsign's binding does (docs/decisions.md "Access control").
_CANDIDATE = """
zone = :zone AND (ts < :older OR (ts, id) < (:cap_ts, :cap_id)) AND kind != 'channel'
AND NOT (channel IN (SELECT value FROM json_each(:pinned)) AND shown > 0)
"""
PRUNE_CANDIDATES = f"""
SELECT seq, ts, id, target FROM records
WHERE {_CANDIDATE} AND (ts, id) > (:after_ts, :after_id)
ORDER BY ts, id LIMIT :limit
"""


def prune_targets(n: int) -> str:
    """Select (id, target, candidate?) of ``n`` target ids, with the candidate test applied."""
    return (
        f"SELECT id, target, ({_CANDIDATE}) FROM records "
        f"WHERE id IN ({', '.join(':t' + str(i) for i in range(n))})"
    )


DELETE_BY_SEQ = "DELETE FROM records WHERE seq = ?"
