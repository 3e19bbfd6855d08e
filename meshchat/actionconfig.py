"""The config sections of action rules and gateways (DESIGN §7), read by ``meshchat.config``.

``[[actions]]`` entries are kept as written; ``meshchat.actions.rules`` compiles them at
start and checks what needs the actions package (event names, bundled scripts) with the
same kind of error, naming the file, the entry's index and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from meshchat.callsign import is_valid as callsign_valid
from meshchat.errors import ConfigError

ACTION_ORIGINS = ("local", "remote", "any")
RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
HASHTAG = re.compile(r"#?\w{1,64}")
MIN_TOKEN = 16


@dataclass(frozen=True)
class ActionRunnerConfig:
    """[action_runner]: how action rules run; the rules themselves are ``[[actions]]``."""

    legacy_file: str = ""  # a legacy ``channel:hashtag:script:timeout`` file to load too
    rate_per_minute: int = 20  # runs one rule may start per minute (a backlog waits)
    max_age_s: float = 3600.0  # a record older than this when its turn comes does not fire
    output_bytes: int = 4096  # head of stdout and of stderr kept in the action log
    retry_backoff_s: float = 10.0  # first retry delay of a failing run; it doubles
    offline_after_s: float = 900.0  # mention_offline: not online anywhere for this long
    keep_days: int = 30  # finished runs stay in the action log this long


@dataclass(frozen=True)
class InboundConfig:
    """[inbound]: gateways posting in through ``POST /api/v1/inbound``."""

    token: str = ""  # the bearer token; empty refuses every inbound post


@dataclass(frozen=True)
class ActionEntry:
    """[[actions]]: one action rule as written.

    Empty filters match anything; ``zone``, ``channel`` and ``callsign`` take a string or a
    list (``channel = ""`` is the Everything channel, not "any").
    """

    name: str
    on: str = "message"
    zone: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    callsign: tuple[str, ...] = ()
    match: str = ""
    hashtag: str = ""
    origin: str = "any"
    command: tuple[str, ...] = ()
    timeout: float = 30.0
    retries: int = 2
    concurrency: int = 1


@dataclass(frozen=True)
class GatewaySender:
    """[[gateway_senders]]: a third party's address (an SMS number) that posts as a callsign."""

    address: str
    callsign: str


Fail = Callable[[str, str], ConfigError]


def validate(
    runner: ActionRunnerConfig,
    rules: Sequence[ActionEntry],
    inbound: InboundConfig,
    senders: Sequence[GatewaySender],
    fail: Fail,
) -> None:
    """Raise ``fail(key, why)`` for the first unsound value of the action sections."""
    for key in ("rate_per_minute", "output_bytes", "keep_days"):
        if getattr(runner, key) < 1:
            raise fail(f"action_runner.{key}", "must be at least 1")
    for key in ("max_age_s", "retry_backoff_s", "offline_after_s"):
        if getattr(runner, key) <= 0:
            raise fail(f"action_runner.{key}", "must be positive")
    if runner.offline_after_s >= runner.max_age_s:
        # A notice is due offline_after_s after the message: it must not be stale by then.
        raise fail("action_runner.offline_after_s", "must be less than action_runner.max_age_s")
    if runner.keep_days * 86_400 <= runner.max_age_s:
        # A trimmed run must be of a record too old to fire again (at most once).
        raise fail("action_runner.keep_days", "must be longer than action_runner.max_age_s")
    names: set[str] = set()
    for i, rule in enumerate(rules):
        _validate_rule(rule, f"actions[{i}]", names, fail)
    if inbound.token and len(inbound.token) < MIN_TOKEN:
        raise fail("inbound.token", f"must be at least {MIN_TOKEN} characters (or empty)")
    seen: set[str] = set()
    for i, sender in enumerate(senders):
        where = f"gateway_senders[{i}]"
        if not sender.address or not sender.address.isprintable() or len(sender.address) > 64:
            raise fail(f"{where}.address", "must be 1-64 printable characters")
        if sender.address in seen:
            raise fail(f"{where}.address", f"{sender.address!r} is listed twice")
        seen.add(sender.address)
        if not callsign_valid(sender.callsign):
            raise fail(f"{where}.callsign", f"{sender.callsign!r} is not a normalised callsign")


def _validate_rule(rule: ActionEntry, where: str, names: set[str], fail: Fail) -> None:
    if not RULE_NAME.fullmatch(rule.name):
        raise fail(f"{where}.name", "must be 1-64 letters, digits, '_', '.', ':' or '-'")
    if rule.name in names:
        raise fail(f"{where}.name", f"{rule.name!r} is the name of another rule")
    names.add(rule.name)
    if not rule.command or not rule.command[0]:
        raise fail(f"{where}.command", "must be a non-empty list (an argv, run without a shell)")
    if rule.origin not in ACTION_ORIGINS:
        raise fail(f"{where}.origin", f"must be one of {', '.join(ACTION_ORIGINS)}")
    if not 0 < rule.timeout <= 86_400:
        raise fail(f"{where}.timeout", "must be more than 0 and at most 86400 seconds")
    if not 0 <= rule.retries <= 20:
        raise fail(f"{where}.retries", "must be between 0 and 20")
    if not 1 <= rule.concurrency <= 64:
        raise fail(f"{where}.concurrency", "must be between 1 and 64")
    try:
        re.compile(rule.match)
    except re.error as exc:
        raise fail(f"{where}.match", f"is not a valid regular expression: {exc}") from None
    if rule.hashtag and not HASHTAG.fullmatch(rule.hashtag):
        raise fail(f"{where}.hashtag", "must be one word, with or without its '#'")
