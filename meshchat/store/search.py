"""Turn user text into a safe FTS5 MATCH expression (no FTS syntax from users, ever)."""

from __future__ import annotations

import re

# Word characters as the unicode61 tokenizer sees them: letters and digits; "_" and
# punctuation separate tokens. Matching the tokenizer means a quoted token is one term.
_TOKEN = re.compile(r"[^\W_]+")
MAX_TERMS = 16


def fts_query(text: str) -> str | None:
    """Return an FTS5 query ANDing every word of ``text`` (the last as a prefix), or None.

    Every token is double-quoted, so operators (AND, OR, NOT, NEAR), ``*``, ``-``, ``^``,
    ``:`` and quotes in user text are plain words. None means "nothing to search for".
    """
    tokens = _TOKEN.findall(text)[:MAX_TERMS]
    if not tokens:
        return None
    quoted = [f'"{token}"' for token in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)
