"""Action rules: compiled from ``[[actions]]`` and legacy lines, matched without I/O.

``matches(rule, event)`` is a pure function of its two arguments. ``compile_rules`` turns
the config's entries (``meshchat.actionconfig.ActionEntry``) and the lines of a legacy
``/etc/meshchat_actions.conf`` (``channel:hashtag:script:timeout``, ``*`` for any) into
``Rule`` values, raising a ConfigError that names the file, the entry and the key.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from meshchat.actionconfig import ActionEntry, ActionRunnerConfig
from meshchat.actions.events import EVENTS, Event
from meshchat.errors import ConfigError

# Bundled gateway scripts: ``command = ["meshchat:sms", ...]`` runs scripts/sms.py with the
# Python that runs meshchat, through the same runner as any other command.
SCRIPTS = Path(__file__).parent / "scripts"
BUNDLED = ("sms", "webhook", "mail", "archive")
BUNDLED_PREFIX = "meshchat:"
ANY = "*"
LEGACY_FIELDS = 4


@dataclass(frozen=True)
class Rule:
    """A rule ready to match: empty filter sets match anything."""

    name: str
    on: str
    zones: frozenset[str]
    channels: frozenset[str]
    callsigns: frozenset[str]
    match: re.Pattern[str] | None
    hashtag: re.Pattern[str] | None
    origin: str  # local | remote | any
    argv: tuple[str, ...]
    timeout: float
    retries: int
    concurrency: int
    legacy: bool = False  # a legacy line: the script also gets a file holding the TSV line
    tag: str = ""  # the hashtag as configured, for the action log


def matches(rule: Rule, event: Event, *, restricted: bool = False) -> bool:
    """Tell whether ``rule`` fires for ``event`` (pure: no I/O, no clock).

    ``restricted``: the event is a post in a restricted channel, which only a rule naming
    that channel explicitly sees (a ``*`` or no channel filter does not; DESIGN §10).
    """
    if event.event != rule.on:
        return False
    if restricted and event.channel not in rule.channels:
        return False
    if rule.origin not in ("any", event.origin):
        return False
    if rule.zones and event.zone not in rule.zones:
        return False
    if rule.channels and event.channel not in rule.channels:
        return False
    if rule.callsigns and event.subject.upper() not in rule.callsigns:
        return False
    if rule.hashtag is not None and not rule.hashtag.search(event.text):
        return False
    return rule.match is None or rule.match.search(event.text) is not None


def hashtag_pattern(tag: str) -> re.Pattern[str]:
    """Return the pattern of ``#tag`` as a whole word, any case (``#sms`` is not ``#smsx``)."""
    word = tag.removeprefix("#")
    return re.compile(rf"(?<![\w#])#{re.escape(word)}(?!\w)", re.IGNORECASE)


def _choice(values: Sequence[str], *, upper: bool = False) -> frozenset[str]:
    if ANY in values:
        return frozenset()
    return frozenset(v.upper() if upper else v for v in values)


def resolve_command(argv: Sequence[str], where: str) -> tuple[str, ...]:
    """Return the argv to execute: ``meshchat:NAME`` becomes the bundled script NAME."""
    head = argv[0]
    if not head.startswith(BUNDLED_PREFIX):
        return tuple(argv)
    name = head.removeprefix(BUNDLED_PREFIX)
    if name not in BUNDLED:
        known = ", ".join(BUNDLED_PREFIX + b for b in BUNDLED)
        raise ConfigError(f"{where}.command names no bundled script {head!r} (known: {known})")
    return (sys.executable, str(SCRIPTS / f"{name}.py"), *argv[1:])


def compile_entry(entry: ActionEntry, where: str) -> Rule:
    """Compile one ``[[actions]]`` entry; ``where`` is ``FILE: actions[i]`` for errors."""
    if entry.on not in EVENTS:
        raise ConfigError(f"{where}.on must be one of {', '.join(EVENTS)}, got {entry.on!r}")
    return Rule(
        name=entry.name,
        on=entry.on,
        zones=_choice(entry.zone),
        channels=_choice(entry.channel),
        callsigns=_choice(entry.callsign, upper=True),
        match=re.compile(entry.match) if entry.match else None,
        hashtag=hashtag_pattern(entry.hashtag) if entry.hashtag else None,
        origin=entry.origin,
        argv=resolve_command(entry.command, where),
        timeout=entry.timeout,
        retries=entry.retries,
        concurrency=entry.concurrency,
        tag=entry.hashtag,
    )


def parse_legacy(text: str, source: str) -> list[Rule]:
    """Return the rules of a legacy actions file (``channel:hashtag:script:timeout`` lines).

    ``#`` starts a comment line; ``*`` in channel or hashtag matches anything. The script
    field is split into words like a shell would, but never run by one.
    """
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}: line {number}"
        fields = line.split(":")
        if len(fields) != LEGACY_FIELDS or not all(f.strip() for f in fields):
            raise ConfigError(f"{where}: expected channel:hashtag:script:timeout, got {line!r}")
        channel, hashtag, script, timeout = (f.strip() for f in fields)
        if not timeout.isdigit() or not 0 < int(timeout) <= 86_400:
            raise ConfigError(f"{where}: timeout must be 1-86400 seconds, got {timeout!r}")
        try:
            argv = shlex.split(script)
        except ValueError as exc:
            raise ConfigError(f"{where}: cannot split the script {script!r}: {exc}") from None
        if hashtag != ANY and not re.fullmatch(r"#?\w{1,64}", hashtag):
            raise ConfigError(f"{where}: hashtag must be one word or *, got {hashtag!r}")
        rules.append(
            Rule(
                name=f"legacy:{number}",
                on="message",
                zones=frozenset(),
                channels=frozenset() if channel == ANY else frozenset({channel}),
                callsigns=frozenset(),
                match=None,
                hashtag=None if hashtag == ANY else hashtag_pattern(hashtag),
                origin="any",
                argv=tuple(argv),
                timeout=float(timeout),
                retries=0,
                concurrency=1,
                legacy=True,
                tag="" if hashtag == ANY else hashtag,
            )
        )
    return rules


def compile_rules(
    entries: Sequence[ActionEntry], source: str, legacy: str | None = None, legacy_source: str = ""
) -> list[Rule]:
    """Compile the config's rules, then the legacy file's (``legacy`` is its text)."""
    rules = [compile_entry(e, f"{source}: actions[{i}]") for i, e in enumerate(entries)]
    if legacy is not None:
        rules.extend(parse_legacy(legacy, legacy_source))
    return rules


async def load_rules(
    entries: Sequence[ActionEntry], runner: ActionRunnerConfig, source: str
) -> list[Rule]:
    """Compile the config's rules and read the legacy file it names (off the event loop)."""
    legacy: str | None = None
    if runner.legacy_file:
        path = Path(runner.legacy_file)
        try:
            legacy = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(
                f"{source}: action_runner.legacy_file: cannot read {path}: {why}",
                key="action_runner.legacy_file",
                why=f"cannot read {path}: {why}",
            ) from None
    return compile_rules(entries, source, legacy, runner.legacy_file)
