"""What ``meshchat doctor`` reports: one finding per line, how bad and what to do."""

from __future__ import annotations

from dataclasses import dataclass

OK, NOTE, WARNING, PROBLEM = "ok", "note", "warning", "problem"
WRONG = frozenset({WARNING, PROBLEM})  # anything of these makes the doctor exit 1


@dataclass(frozen=True)
class Finding:
    """One line of the report: how bad, about what, what was found, what to do."""

    level: str
    topic: str
    text: str
    fix: str = ""
