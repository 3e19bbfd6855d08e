"""The zone-sync driver against a real node: bootstrap pages are ingested while the next
one is fetched, two at a time, and a page's cursor is stored only once it is in."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from meshchat.sync import session
from meshchat.sync.server import SyncServer
from meshchat.sync.zonesync import cursor_key
from tests.factories import make_record
from tests.mesh import PUSH_ONLY, ZONE, eventually, ids, start_nodes, stop_all

PAGE = 16


async def test_the_next_pages_are_fetched_and_ingested_while_a_page_is_ingested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session, "RANGE_PAGE", PAGE)
    events: list[str] = []
    second_page = asyncio.Event()
    original_range = SyncServer.range

    async def counting_range(self: SyncServer, request: Any) -> Any:
        events.append("range served")
        return await original_range(self, request)

    monkeypatch.setattr(SyncServer, "range", counting_range)
    (old,) = await start_nodes(tmp_path / "old", 1, PUSH_ONLY)
    nodes = [old]
    try:
        history = [make_record(text=f"history {i}") for i in range(40)]  # + n0's announcement
        assert await old.node.ingestor.submit([r.envelope for r in history], "local")
        (new,) = await start_nodes(tmp_path / "new", 1, PUSH_ONLY)
        nodes.append(new)
        submit, meta_set = new.node.ingestor.submit, new.node.store.meta_set
        key = cursor_key(ZONE, old.url)
        overlapped: list[bool] = []

        async def held_submit(envelopes: Sequence[Any], origin: str) -> list[str]:
            page = len(envelopes) > 4 and origin.startswith("peer:")  # not the few firsts
            held = page and not overlapped
            if page and overlapped:
                second_page.set()
            if held:  # hold the first page until the next one is in ingest
                events.append("first page held")
                overlapped.append(False)
                try:
                    await asyncio.wait_for(second_page.wait(), 10)
                    overlapped[0] = True
                except TimeoutError:
                    pass  # a driver that ingests one page at a time: the assert says so
            results = await submit(envelopes, origin)
            if page:
                events.append("first page ingested" if held else "page ingested")
            return results

        async def noted_meta_set(name: str, value: str) -> None:
            await meta_set(name, value)
            if name == key:
                events.append("cursor saved" if value else "bootstrap done")

        monkeypatch.setattr(new.node.ingestor, "submit", held_submit)
        monkeypatch.setattr(new.node.store, "meta_set", noted_meta_set)
        new.node.scheduler.add_peer(old.url, "static")

        async def finished() -> bool:
            return "bootstrap done" in events and {r.id for r in history} <= set(await ids(new))

        await eventually(finished, what="the bootstrap")
        assert overlapped == [True]  # page 2 was fetched and in ingest while page 1 was held
        paging = [e for e in events if e != "first page held"]
        second = [i for i, e in enumerate(events) if e == "range served"][1]
        assert second < events.index("page ingested") < events.index("first page ingested")
        # No cursor is stored before the page it ends and every page before it are in
        # (page 2 was in first): a cut bootstrap resumes after pages that are all in.
        assert events.index("first page ingested") < events.index("cursor saved"), paging
        ingested = saved = 0
        for event in paging:
            ingested += event.endswith("page ingested")
            saved += event == "cursor saved"
            assert saved <= ingested, paging
        assert saved == ingested == 3 and paging[-1] == "bootstrap done"  # 16 + 16 + 9
        assert await new.node.store.meta_get(key) == ""
    finally:
        await stop_all(nodes)
