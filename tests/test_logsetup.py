"""Log lines: a flood of one line is cut to a few a minute, and says how many it left out."""

from __future__ import annotations

import io
import logging

from meshchat import logsetup
from meshchat.logsetup import RepeatFilter


def line(msg: str, *args: object, name: str = "meshchat.guard") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_the_same_line_passes_a_few_times_a_window_then_says_what_it_left_out() -> None:
    now = [0.0]
    keep = RepeatFilter(burst=3, window_s=60.0, clock=lambda: now[0])
    flood = [keep.filter(line("refusing %s", i)) for i in range(1000)]
    assert flood.count(True) == 3
    assert keep.filter(line("another line")) is True  # other lines are not held back
    now[0] = 61.0
    after = line("refusing %s", "x")
    assert keep.filter(after) is True
    assert "(997 more like it left out)" in after.getMessage()


def test_configure_installs_it() -> None:
    out = io.StringIO()
    logsetup.configure("INFO", out, env={})
    log = logging.getLogger("meshchat.test_flood")
    try:
        for i in range(50):
            log.warning("bad request %d", i)
        assert out.getvalue().count("bad request") == 10
    finally:
        for handler in [
            h for h in logging.getLogger().handlers if isinstance(h, logsetup._Handler)
        ]:
            logging.getLogger().removeHandler(handler)
