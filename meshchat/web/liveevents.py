"""What stored changes mean to a live socket: ``message``, ``update``, ``channel`` events.

The live hub reads what was stored after its cursor and turns each change into the event
every socket of the zone may get; the gate then decides per socket (``LiveGate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshchat.store.db import Store
from meshchat.web.livegate import LiveGate

Change = tuple[int, str, bytes, bytes | None]  # (seq, kind, id, target)


async def events(
    store: Store, gate: LiveGate, zone: str, changes: Sequence[Change]
) -> list[dict[str, Any]]:
    """Turn stored changes into events, before any reader's filter."""
    out: list[dict[str, Any]] = []
    seen = gate.everything(zone)  # nothing held back here: the gate filters per socket
    for seq, kind, record_id, target in changes:
        if kind in ("msg", "file", "legacy"):
            view = await store.message(zone, record_id, seen)
            if view is not None:
                out.append({"type": "message", "cursor": seq, "message": view.to_json()})
        elif kind in ("edit", "react", "delete") and target is not None:
            view = await store.message(zone, target, seen)
            if view is None and kind == "delete":  # a retracted reaction
                reaction = await store.get_record(target)
                inner = reaction.body.get("target") if reaction is not None else None
                if isinstance(inner, bytes):
                    view = await store.message(zone, inner, seen)
            if view is not None:
                out.append({"type": "update", "cursor": seq, "message": view.to_json()})
            elif kind == "delete":
                out.extend(await gate.bans(zone, seq, record_id))
        elif kind == "channel":
            record = await store.get_record(record_id)
            if record is not None:
                _, channel = await store.channel_view(zone, str(record.body["name"]))
                out.append({"type": "channel", "cursor": seq, "channel": channel.to_json()})
    return out
