"""The action sections of the config, and the legacy ``channel:hashtag:script:timeout`` file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from meshchat import config
from meshchat.actionconfig import ActionRunnerConfig
from meshchat.actions.rules import load_rules, parse_legacy
from meshchat.errors import ConfigError

RULES = """
[[actions]]
name = "ops-sms"
on = "mention"
channel = "ops"
callsign = ["w1aw", "K1ABC"]
match = "(?i)urgent"
hashtag = "#sms"
origin = "remote"
command = ["/usr/local/bin/notify", "--fast"]
timeout = 2.5
retries = 1
concurrency = 3

[inbound]
token = "0123456789abcdef0123"

[[gateway_senders]]
address = "+1 555 123 4567"
callsign = "W1AW"
"""


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "meshchat.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_rules_load_with_every_key(tmp_path: Path) -> None:
    cfg = load(tmp_path, RULES)
    (entry,) = cfg.actions
    assert entry.name == "ops-sms" and entry.on == "mention"
    assert entry.channel == ("ops",) and entry.callsign == ("w1aw", "K1ABC")
    assert entry.command == ("/usr/local/bin/notify", "--fast")
    assert (entry.timeout, entry.retries, entry.concurrency) == (2.5, 1, 3)
    assert cfg.inbound.token == "0123456789abcdef0123"
    assert cfg.gateway_senders[0].callsign == "W1AW"


def test_an_unknown_key_names_the_file_the_index_and_the_key(tmp_path: Path) -> None:
    text = RULES + '\n[[actions]]\nname = "b"\ncommand = ["x"]\nshell = true\n'
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "meshchat.toml") in message
    assert "actions[1].shell" in message


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('name = "a"\ncommand = []', "actions[0].command"),
        ('name = "a b"\ncommand = ["x"]', "actions[0].name"),
        ('name = "a"\ncommand = ["x"]\norigin = "peer"', "actions[0].origin"),
        ('name = "a"\ncommand = ["x"]\nmatch = "(unclosed"', "actions[0].match"),
        ('name = "a"\ncommand = ["x"]\nhashtag = "two words"', "actions[0].hashtag"),
        ('name = "a"\ncommand = ["x"]\ntimeout = 0', "actions[0].timeout"),
        ('name = "a"\ncommand = ["x"]\nconcurrency = 0', "actions[0].concurrency"),
        ('name = "a"\ncommand = "x"\nretries = -1', "actions[0].retries"),
        ('command = ["x"]', "actions[0].name"),
    ],
)
def test_bad_rules_name_their_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load(tmp_path, "[[actions]]\n" + extra + "\n")


def test_duplicate_names_short_tokens_and_bad_senders_are_refused(tmp_path: Path) -> None:
    twice = '[[actions]]\nname = "a"\ncommand = ["x"]\n' * 2
    with pytest.raises(ConfigError, match=r"actions\[1\]\.name"):
        load(tmp_path, twice)
    with pytest.raises(ConfigError, match=r"inbound\.token"):
        load(tmp_path, '[inbound]\ntoken = "short"\n')
    with pytest.raises(ConfigError, match=r"gateway_senders\[0\]\.callsign"):
        load(tmp_path, '[[gateway_senders]]\naddress = "+1555"\ncallsign = "not a call"\n')
    with pytest.raises(ConfigError, match=r"action_runner\.keep_days"):
        load(tmp_path, "[action_runner]\nmax_age_s = 9999999\noffline_after_s = 60\n")
    with pytest.raises(ConfigError, match=r"action_runner\.offline_after_s"):
        load(tmp_path, "[action_runner]\nmax_age_s = 600\noffline_after_s = 900\n")


LEGACY = """# channel:hashtag:script:timeout
ops:#sms:/usr/local/bin/sms-out --fast:20
*:wx:/usr/local/bin/weather:5

*:*:/usr/local/bin/log-all:10
"""


def test_the_legacy_format_loads() -> None:
    ops, wx, everything = parse_legacy(LEGACY, "/etc/meshchat_actions.conf")
    assert ops.name == "legacy:2" and ops.on == "message" and ops.legacy
    assert ops.channels == frozenset({"ops"}) and ops.timeout == 20.0
    assert ops.argv == ("/usr/local/bin/sms-out", "--fast")
    assert ops.hashtag is not None and ops.hashtag.search("go #SMS")
    assert wx.channels == frozenset() and wx.hashtag is not None and wx.hashtag.search("#wx")
    assert everything.hashtag is None and everything.channels == frozenset()
    assert everything.retries == 0


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("ops:#sms:/bin/x", "expected channel:hashtag:script:timeout"),
        ("ops:#sms:/bin/x:soon", "timeout must be"),
        ("ops::/bin/x:5", "expected channel:hashtag:script:timeout"),
        ("ops:two words:/bin/x:5", "hashtag must be"),
    ],
)
def test_bad_legacy_lines_name_the_file_and_line(line: str, why: str) -> None:
    with pytest.raises(ConfigError, match=rf"legacy.conf: line 2: {why}"):
        parse_legacy("# head\n" + line + "\n", "legacy.conf")


async def test_the_legacy_file_is_read_at_start(tmp_path: Path) -> None:
    path = tmp_path / "meshchat_actions.conf"
    path.write_text(LEGACY, encoding="utf-8")
    cfg = config.from_mapping(tomllib.loads(RULES), "cfg")
    found = await load_rules(cfg.actions, ActionRunnerConfig(legacy_file=str(path)), cfg.source)
    assert [r.name for r in found] == ["ops-sms", "legacy:2", "legacy:3", "legacy:5"]
    with pytest.raises(ConfigError, match=r"action_runner\.legacy_file: cannot read"):
        await load_rules((), ActionRunnerConfig(legacy_file=str(tmp_path / "no")), "cfg")


def test_the_readme_example_parses() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Action scripts and gateways")
    begin = readme.index("```toml", start) + len("```toml")
    block = readme[begin : readme.index("```", begin)]
    cfg = config.from_mapping(tomllib.loads(block), "README")
    assert [r.name for r in cfg.actions] == ["ops-to-sms", "tell-me"]
