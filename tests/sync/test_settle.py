"""Settle checks: one call once a burst of new records is over (sync/settle.py)."""

from __future__ import annotations

import asyncio

from meshchat.sync.settle import Settler


async def test_the_check_waits_for_quiet_but_not_past_the_limit() -> None:
    now = [100.0]
    settler = Settler(2.0, 10.0, lambda: None, clock=lambda: now[0])
    assert settler.due(100.0) == 102.0  # quiet for 2 s after the only record
    settler.note()  # the first record, at 100
    assert settler.due(105.0) == 107.0  # a record at 105: quiet until 107
    assert settler.due(109.0) == 110.0  # records keep coming: at the latest 10 s on
    settler.close()


async def test_a_burst_gives_one_check_and_the_next_burst_another() -> None:
    fired: list[float] = []
    loop = asyncio.get_running_loop()
    settler = Settler(0.05, 1.0, lambda: fired.append(loop.time()))
    for _ in range(5):
        settler.note()
        await asyncio.sleep(0.01)
    for _ in range(100):  # bounded: 1 s
        if fired:
            break
        await asyncio.sleep(0.01)
    assert len(fired) == 1 and settler.checks == 1
    settler.note()
    await asyncio.sleep(0.2)
    assert len(fired) == 2


async def test_close_cancels_a_waiting_check() -> None:
    fired: list[int] = []
    settler = Settler(0.05, 1.0, lambda: fired.append(1))
    settler.note()
    settler.close()
    await asyncio.sleep(0.15)
    assert fired == [] and settler.checks == 0
