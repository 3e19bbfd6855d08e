"""Schema migrations 6 and on (``schema.MIGRATIONS`` numbers and applies them).

Once released, a migration is never edited, only followed.
"""

from __future__ import annotations

# Access control (docs/decisions.md "Access control"): what this node's own operator hid
# here (node-local, never replicated), and an index for zone moderation, which reads the
# ``delete`` records of the operators a node trusts.
V6 = """
CREATE TABLE local_hides (
    id BLOB PRIMARY KEY,
    zone TEXT NOT NULL,
    by BLOB NOT NULL,          -- the key of the node operator who hid it
    at INTEGER NOT NULL        -- when (ms, this node's clock)
) WITHOUT ROWID;
CREATE INDEX local_hides_zone ON local_hides(zone);
CREATE INDEX records_deletes ON records(zone, author) WHERE kind = 'delete';
"""

# Search newest first (docs/decisions.md "Search"): full-text rows are keyed by time, not
# arrival. ``tk`` = ts * 2^20 + a number unique among the shown records of that
# millisecond, so FTS5 returns matches in time order and stops early, whatever order sync
# stored them in. Prefix indexes of 2, 3 and 4 letters: a search's last word is a prefix,
# and without its own index FTS5 gathers every matching term's whole doclist first.
V7 = """
ALTER TABLE records ADD COLUMN tk INTEGER;
UPDATE records SET tk = ranked.tk FROM (
    SELECT seq, ts * 1048576 + row_number() OVER (PARTITION BY ts ORDER BY seq) - 1 AS tk
    FROM records WHERE shown > 0
) AS ranked WHERE records.seq = ranked.seq;
CREATE UNIQUE INDEX records_tk ON records(tk);
CREATE TEMP TABLE fts_moved AS
    SELECT r.tk AS tk, f.text AS text FROM message_fts AS f JOIN records AS r ON r.seq = f.rowid;
DROP TABLE message_fts;
CREATE VIRTUAL TABLE message_fts USING fts5(
    text, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
INSERT INTO message_fts (rowid, text) SELECT tk, text FROM fts_moved ORDER BY tk;
DROP TABLE fts_moved;
DROP TRIGGER records_fts_delete;
CREATE TRIGGER records_fts_delete AFTER DELETE ON records WHEN OLD.tk IS NOT NULL BEGIN
    DELETE FROM message_fts WHERE rowid = OLD.tk;
END;
"""
