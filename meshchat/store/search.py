"""User search text: a safe FTS5 MATCH expression (no FTS syntax from users, ever) and the
``from:`` / ``in:`` filters the UI and the API understand (README "JSON API")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from meshchat import callsign as callsigns
from meshchat import schemas
from meshchat.errors import IdentityError, RemoteProtocolError

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


def terms(text: str) -> list[str]:
    """Return the words ``fts_query`` searches for, in order (the last one is a prefix)."""
    return _TOKEN.findall(text)[:MAX_TERMS]


# ``from:CALL``, ``in:#channel``, ``in:"#two words"``, ``in:@CALL`` (a direct conversation).
_FILTER = re.compile(r'(?<!\S)(from|in):(?:"([^"]*)"|(\S*))', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SearchText:
    """User search text split into its free words and its filters."""

    words: str
    author: str | None = None  # from:CALL
    channel: str | None = None  # in:#name ("" for in:# , the Everything channel)
    dm: str | None = None  # in:@CALL


def parse(text: str) -> SearchText:
    """Split ``from:`` and ``in:`` filters off ``text``; RemoteProtocolError when one is bad.

    A later filter of the same name wins; ``in:#name`` and ``in:@CALL`` replace each other.
    """
    author: str | None = None
    channel: str | None = None
    dm: str | None = None
    for match in _FILTER.finditer(text):
        name = match.group(1).lower()
        value = (match.group(2) if match.group(2) is not None else match.group(3)).strip()
        if name == "from":
            author = _callsign(value.removeprefix("@"), "from:")
        elif value.startswith("@"):
            dm, channel = _callsign(value[1:], "in:@"), None
        else:
            name_ = value.removeprefix("#").strip()
            if not schemas.valid_channel(name_):
                raise RemoteProtocolError("in: needs a channel name (in:#ops) or in:@CALL")
            channel, dm = name_, None
    words = " ".join(_FILTER.sub(" ", text).split())
    return SearchText(words, author, channel, dm)


def _callsign(value: str, what: str) -> str:
    try:
        return callsigns.normalize(value)
    except IdentityError as exc:
        raise RemoteProtocolError(f"{what} needs a callsign: {exc}") from None
