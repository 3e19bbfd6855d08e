"""Who is reading, and what the access rules let them see (DESIGN §10, docs/decisions.md).

Rights belong to keys: a passphrase login holds its own key; a callsign-only login is
signed by the node ("via NODE") and holds none, so it reads no restricted channel. Every
refusal is a 403 whose detail says why and what to do.
"""

from __future__ import annotations

from typing import NoReturn

from aiohttp import web

from meshchat.store.access import ReadFilter
from meshchat.store.db import Store
from meshchat.store.rights import Channel
from meshchat.web.auth import COOKIE, Session, Sessions
from meshchat.web.http import fail

KEY_REQUIRED = (
    "a callsign-only login is signed by this node and holds no right: log in with your passphrase"
)


def reader_key(session: Session | None) -> bytes | None:
    """Return the key a session's rights belong to (None: callsign-only, or no session)."""
    if session is None or session.signer.via_node:
        return None
    return bytes(session.signer.key.verify_key)


def current(sessions: Sessions, request: web.Request) -> Session | None:
    """Return the request's session, if any (reads need none on an open node)."""
    return sessions.get(request.cookies.get(COOKIE))


async def seen_by(store: Store, session: Session | None, zone: str) -> ReadFilter:
    """Return what ``session`` (None: nobody logged in) may see in ``zone``."""
    access = await store.access(zone)
    callsign = session.signer.callsign if session is not None else None
    return access.reader(reader_key(session), callsign)


def refuse_channel(channel: Channel, session: Session | None) -> NoReturn:
    """403: ``session`` may not read or post in ``channel``; the detail says why."""
    name = f"#{channel.name}"
    if channel.unknown:
        fail(
            403,
            "channel_unknown",
            f"{name} is restricted by a record this node has not got yet: it opens to its "
            "members once that record arrives",
        )
    if session is None:
        fail(403, "not_member", f"{name} is restricted to its members: log in first")
    if session.signer.via_node:
        fail(403, "key_required", f"{name} is restricted to its members, and {KEY_REQUIRED}")
    fail(
        403,
        "not_member",
        f"{name} is restricted to its members: ask its owner or an operator to invite you",
    )


async def check_channel(store: Store, session: Session | None, zone: str, name: str) -> None:
    """403 unless ``session`` may read (and post in) the channel ``name``."""
    channel = (await store.access(zone)).channel(name)
    if channel is not None and not channel.may_read(reader_key(session)):
        refuse_channel(channel, session)


def require_key(session: Session, what: str) -> bytes:
    """Return the session's own key, or 403 ``key_required`` saying ``what`` needs it."""
    key = reader_key(session)
    if key is None:
        fail(403, "key_required", f"{what} needs your own key: {KEY_REQUIRED}")
    return key
