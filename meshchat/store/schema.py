"""Numbered schema migrations of the store (DESIGN §4), applied in order via ``user_version``.

Each migration is one SQL script that ``Store.open`` runs inside one transaction together
with ``PRAGMA user_version = N``; a migration once released is never edited, only followed.

Derived tables (FTS, channel and zone counts, quota counters, callsign claims) are kept
in step with ``records``: ingest (the one insert path) adds to them once per batch, and
delete triggers take away, so prune or any later delete keeps them consistent.
"""

from __future__ import annotations

# "MSHC": marks a file as a meshchat store, so a foreign SQLite file is refused at open.
APPLICATION_ID = 0x4D534843

# What ``records.shown`` holds: whether and where a record appears as a message.
SHOWN_NONE = 0  # edit, delete, react, channel, node
SHOWN_PUBLIC = 1  # msg/file/legacy in a channel
SHOWN_DIRECT = 2  # msg with ``to``: only in direct-message queries

_V1 = f"""
PRAGMA application_id = {APPLICATION_ID};

-- seq is the rowid alias, so FTS rows (rowid = seq) survive VACUUM; id is the record id.
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    zone TEXT NOT NULL,
    ts INTEGER NOT NULL,
    author BLOB NOT NULL,
    kind TEXT NOT NULL,
    shown INTEGER NOT NULL,
    channel TEXT,
    callsign TEXT,
    target BLOB,
    to_callsign TEXT,
    dm_pair TEXT,
    reply_to BLOB,
    S BLOB NOT NULL,
    sig BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    origin TEXT NOT NULL
);

CREATE INDEX records_zone_ts ON records(zone, ts, id);
CREATE INDEX records_public ON records(zone, ts, id) WHERE shown = 1;
CREATE INDEX records_channel ON records(zone, channel, ts, id) WHERE shown = 1;
CREATE INDEX records_direct ON records(zone, dm_pair, ts, id) WHERE shown = 2;
CREATE INDEX records_callsign ON records(zone, callsign, ts, id) WHERE shown > 0;
CREATE INDEX records_target ON records(target) WHERE target IS NOT NULL;
CREATE INDEX records_reply ON records(reply_to, ts, id) WHERE reply_to IS NOT NULL;
CREATE INDEX records_channel_defs ON records(zone, channel, ts, id) WHERE kind = 'channel';
CREATE INDEX records_node_keys ON records(author) WHERE kind = 'node';

-- The effective text of every shown, not deleted message; rowid = records.seq.
CREATE VIRTUAL TABLE message_fts USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);

CREATE TABLE zone_stats (
    zone TEXT PRIMARY KEY,
    count INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE channel_stats (
    zone TEXT NOT NULL,
    channel TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    PRIMARY KEY (zone, channel)
) WITHOUT ROWID;

-- Quota counters per author *and callsign*: callsign-only users of one node share its
-- key, and each of them gets the quota, not all of them together.
CREATE TABLE author_hours (
    zone TEXT NOT NULL,
    author BLOB NOT NULL,
    callsign TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (zone, author, callsign, hour)
) WITHOUT ROWID;

-- Earliest claim of a callsign per author (TOFU, DESIGN §3). Deliberately not pruned: a
-- binding outlives its records, so an impostor does not inherit a callsign when the
-- owner's old messages expire.
CREATE TABLE claims (
    zone TEXT NOT NULL,
    callsign TEXT NOT NULL,
    author BLOB NOT NULL,
    ts INTEGER NOT NULL,
    id BLOB NOT NULL,
    PRIMARY KEY (zone, callsign, author)
) WITHOUT ROWID;

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER records_count_delete AFTER DELETE ON records BEGIN
    UPDATE zone_stats SET count = count - 1 WHERE zone = OLD.zone;
END;

CREATE TRIGGER records_quota_delete AFTER DELETE ON records WHEN OLD.kind != 'legacy' BEGIN
    UPDATE author_hours SET count = count - 1
        WHERE zone = OLD.zone AND author = OLD.author AND callsign = coalesce(OLD.callsign, '')
          AND hour = OLD.ts / 3600000;
END;

CREATE TRIGGER records_channel_delete AFTER DELETE ON records WHEN OLD.shown = 1 BEGIN
    UPDATE channel_stats SET count = count - 1,
        last_ts = coalesce((SELECT max(ts) FROM records
            WHERE zone = OLD.zone AND channel = OLD.channel AND shown = 1), 0)
        WHERE zone = OLD.zone AND channel = OLD.channel;
    DELETE FROM channel_stats WHERE zone = OLD.zone AND channel = OLD.channel AND count <= 0;
END;

CREATE TRIGGER records_fts_delete AFTER DELETE ON records WHEN OLD.shown > 0 BEGIN
    DELETE FROM message_fts WHERE rowid = OLD.seq;
END;
"""

# Identity that cannot be taken (docs/decisions.md "Identity"): bindings by arrival, node
# trust from direct peers, sessions that outlive a restart, local authorship.
_V2 = """
-- The arrival order (seq) of the first record by each author claiming a callsign: the
-- binding goes to the first claim seen on this node, never to the earliest timestamp.
ALTER TABLE claims ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 0;
UPDATE claims SET first_seq = coalesce((
    SELECT min(r.seq) FROM records r
    WHERE r.zone = claims.zone AND r.callsign = claims.callsign AND r.author = claims.author
      AND r.shown > 0), 0);
CREATE INDEX claims_first_seen ON claims(zone, callsign, first_seq);

-- Quota counts are arrivals per hour of timestamps; they are not given back when a record
-- is pruned (a pruned hour is long past), so the per-callsign trigger goes.
DROP TRIGGER records_quota_delete;

-- Node keys this node has synced with directly, and the node keys each of them said it
-- trusts (its info's ``nodes``): where node trust comes from.
CREATE TABLE direct_peers (
    key BLOB PRIMARY KEY,
    first_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE node_vouches (
    via BLOB NOT NULL,
    key BLOB NOT NULL,
    PRIMARY KEY (via, key)
) WITHOUT ROWID;

-- Browser sessions that outlive a restart. Everything but the expiry is sealed with a key
-- derived from the session cookie, which only the browser holds.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    sealed BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Which browser (a hash of its device cookie) posted a record the node signed for it.
CREATE TABLE authored (
    id BLOB PRIMARY KEY,
    device BLOB NOT NULL
) WITHOUT ROWID;
"""

# Actions (DESIGN §7). Nothing
# here is replicated: runs, the feed cursor, contact addresses and last-online times
# belong to this node alone.
_V3 = """
-- One row per (rule, record, addressee): the UNIQUE key is what makes a run happen at most
-- once across restarts and re-syncs. ``state`` is queued | running | ok | failed |
-- interrupted (the node stopped mid-run; never re-run) | stale | skipped.
CREATE TABLE action_runs (
    run INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    record_id BLOB NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    zone TEXT NOT NULL,
    record_ts INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    duration_ms INTEGER,
    exit_status INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    UNIQUE (rule, record_id, target)
);
CREATE INDEX action_runs_queued ON action_runs(due_at, run) WHERE state = 'queued';
CREATE INDEX action_runs_running ON action_runs(run) WHERE state = 'running';
CREATE INDEX action_runs_finished ON action_runs(finished_at) WHERE finished_at IS NOT NULL;

-- How far the action runner has read the change feed (records.seq), by reader name.
CREATE TABLE action_cursor (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;

-- Addresses users registered for offline notices (an SMS number, an e-mail address).
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    callsign TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (callsign, kind, address)
);

-- When a callsign with contacts was last seen online anywhere in a zone (mention_offline).
CREATE TABLE last_online (
    callsign TEXT PRIMARY KEY,
    at INTEGER NOT NULL
) WITHOUT ROWID;
"""

# The legacy bridge (LEGACY.md "Mapping"): the legacy id map. One row per message line a
# legacy node sees from this zone: the export of a ``msg`` (DMs never) and the verbatim
# line of a ``legacy`` record. Derived from ``records`` through a cursor over the change
# feed, so nothing here is replicated; a pruned record takes its row with it.
_V4 = """
CREATE TABLE legacy_lines (
    record_id BLOB PRIMARY KEY,
    zone TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    lid INTEGER NOT NULL,      -- the line's id read as hexadecimal: the sort key after epoch
    line TEXT NOT NULL,        -- the exact line, without its newline
    digest BLOB NOT NULL,      -- SHA-256 of the line, 16 bytes: a line coming back is known
    author BLOB NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0  -- its author retracted the msg: no longer exported
) WITHOUT ROWID;
CREATE INDEX legacy_lines_window ON legacy_lines(zone, epoch, lid) WHERE deleted = 0;
CREATE INDEX legacy_lines_digest ON legacy_lines(zone, digest);

-- How far legacy_lines has read the change feed (records.seq), per zone.
CREATE TABLE legacy_cursor (
    zone TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER records_legacy_delete AFTER DELETE ON records
WHEN OLD.kind IN ('msg', 'legacy') BEGIN
    DELETE FROM legacy_lines WHERE record_id = OLD.id;
END;
"""

# Files (DESIGN §5.4). Nothing here is replicated either: which blobs this node holds, an
# index of the ``file`` records by content hash (kept from the change feed, like the action
# cursor), and the file lists legacy peers serve (filled by the legacy bridge).
_V5 = """
-- A blob whose bytes are on this node, verified, under data_dir/blobs/ (store/blobs.py).
-- ``file_ts`` is the ts of the newest file record announcing it (an upload: its time):
-- when the quota needs room, unpinned blobs go oldest file_ts first, and only for a newer one.
CREATE TABLE blobs (
    sha256 BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    added_at INTEGER NOT NULL,
    file_ts INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_evict ON blobs(file_ts) WHERE pinned = 0;

-- Every ``file`` record stored here, by content hash and name; ``seq`` is records.seq.
-- Rows of pruned records are dropped when the index next catches up (it joins records).
CREATE TABLE file_refs (
    record_id BLOB PRIMARY KEY,
    seq INTEGER NOT NULL,
    zone TEXT NOT NULL,
    ts INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    size INTEGER NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX file_refs_sha ON file_refs(sha256);
CREATE INDEX file_refs_zone ON file_refs(zone, ts);
CREATE INDEX file_refs_name ON file_refs(name, ts);

-- The files a legacy MeshChat peer lists in ``local_files_raw`` (LEGACY.md), replaced as a
-- whole per (zone, peer) on every poll: ``source`` is the peer URL polled, ``node`` its
-- ``node:port`` field (the owning node), ``mtime`` Unix seconds, ``seen_at`` the poll (ms).
CREATE TABLE legacy_files (
    zone TEXT NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    node TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime INTEGER NOT NULL,
    platform TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (zone, source, node, name)
) WITHOUT ROWID;
"""

# Access control (docs/decisions.md "Access control"): what this node's own operator hid
# here (node-local, never replicated), and an index for zone moderation, which reads the
# ``delete`` records of the operators a node trusts.
_V6 = """
CREATE TABLE local_hides (
    id BLOB PRIMARY KEY,
    zone TEXT NOT NULL,
    by BLOB NOT NULL,          -- the key of the node operator who hid it
    at INTEGER NOT NULL        -- when (ms, this node's clock)
) WITHOUT ROWID;
CREATE INDEX local_hides_zone ON local_hides(zone);
CREATE INDEX records_deletes ON records(zone, author) WHERE kind = 'delete';
"""

MIGRATIONS: list[tuple[int, str]] = [
    (1, _V1),
    (2, _V2),
    (3, _V3),
    (4, _V4),
    (5, _V5),
    (6, _V6),
]


def latest_version() -> int:
    """Return the schema version a fully migrated store has."""
    return MIGRATIONS[-1][0]


def migration_script(version: int, sql: str) -> str:
    """Return the script that applies one migration and records its number atomically."""
    return f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {int(version)};\nCOMMIT;\n"
