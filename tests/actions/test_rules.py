"""Rule matching is pure (no I/O): each filter matches and misses; events of a message."""

from __future__ import annotations

import sys

import pytest

from meshchat.actionconfig import ActionEntry
from meshchat.actions.events import EVENTS, events_for
from meshchat.actions.rules import SCRIPTS, compile_entry, hashtag_pattern, matches
from meshchat.errors import ConfigError
from meshchat.store.models import MessageView
from tests.actions.helpers import event


def compiled(**fields: object) -> object:
    return compile_entry(ActionEntry(name="r", command=("/bin/true",), **fields), "cfg: actions[0]")


@pytest.mark.parametrize(
    ("fields", "hit", "miss"),
    [
        ({"match": r"(?i)\burgent\b"}, {"text": "URGENT: water"}, {"text": "urgently"}),
        ({"hashtag": "#sms"}, {"text": "send this #SMS please"}, {"text": "no #smsx tag"}),
        ({"hashtag": "sms"}, {"text": "#sms"}, {"text": "sms without a hash"}),
        ({"channel": ("ops",)}, {"channel": "ops"}, {"channel": "ops2"}),
        ({"channel": ("",)}, {"channel": ""}, {"channel": "ops"}),
        ({"origin": "local"}, {"origin": "local"}, {"origin": "remote"}),
        ({"origin": "remote"}, {"origin": "remote"}, {"origin": "local"}),
        ({"zone": ("Ops",)}, {"zone": "Ops"}, {"zone": "MeshChat"}),
        ({"callsign": ("w1aw",)}, {"callsign": "W1AW"}, {"callsign": "K1ABC"}),
        ({"on": "file"}, {"event": "file"}, {"event": "message"}),
    ],
)
def test_each_filter_matches_and_misses(
    fields: dict[str, object], hit: dict[str, object], miss: dict[str, object]
) -> None:
    rule = compiled(**fields)
    on = fields.get("on", "message")
    assert matches(rule, event(**{"event": on, **hit}))  # type: ignore[arg-type]
    assert not matches(rule, event(**{"event": on, **miss}))  # type: ignore[arg-type]


def test_empty_filters_and_wildcards_match_anything() -> None:
    assert matches(compiled(), event(channel="x", origin="remote", zone="Z"))
    assert matches(compiled(channel=("*",), callsign=("*",)), event(channel="any"))


def test_origin_any_and_all_filters_must_hold() -> None:
    rule = compiled(channel=("ops",), hashtag="sms", origin="any")
    assert matches(rule, event(channel="ops", text="#sms", origin="remote"))
    assert not matches(rule, event(channel="ops", text="no tag"))
    assert not matches(rule, event(channel="other", text="#sms"))


def test_callsign_filter_is_the_addressee_for_addressed_events() -> None:
    rule = compiled(on="mention", callsign=("K1ABC",))
    assert matches(rule, event(event="mention", callsign="W1AW", target="K1ABC"))
    assert not matches(rule, event(event="mention", callsign="K1ABC", target="N0CALL"))


def test_hashtag_pattern_is_a_whole_word() -> None:
    tag = hashtag_pattern("#wx")
    assert tag.search("storm #WX.")
    assert not tag.search("#wxr") and not tag.search("##wx2") and not tag.search("a#wx")


def test_unknown_event_and_unknown_bundled_script_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"cfg: actions\[0\]\.on must be one of"):
        compiled(on="reaction")
    with pytest.raises(ConfigError, match="no bundled script 'meshchat:fax'"):
        compile_entry(ActionEntry(name="r", command=("meshchat:fax",)), "cfg: actions[0]")


def test_bundled_command_runs_the_script_with_this_python() -> None:
    rule = compile_entry(ActionEntry(name="r", command=("meshchat:sms", "send")), "w")
    assert rule.argv == (sys.executable, str(SCRIPTS / "sms.py"), "send")
    assert (SCRIPTS / "sms.py").is_file()


def view(**fields: object) -> MessageView:
    values: dict[str, object] = {
        "id": "cd" * 32,
        "ts": 1,
        "zone": "MeshChat",
        "channel": "ops",
        "callsign": "W1AW",
        "text": "hi",
        "node": "n",
        "author": "00",
        "verified": "via",
        "reply_to": None,
        "to": None,
        "edited": None,
        "deleted": False,
        "reactions": (),
        "kind": "msg",
        "mentions": (),
        "geo": None,
        "file": None,
    }
    values.update(fields)
    return MessageView(**values)  # type: ignore[arg-type]


def test_events_of_a_message() -> None:
    found = events_for(view(mentions=("K1ABC", "W1AW")), {"gateway": "sms"}, "peer:ab")
    assert [(e.event, e.target) for e in found] == [
        ("message", ""),
        ("mention", "K1ABC"),  # not W1AW: nobody is told of their own mention
        ("mention_offline", "K1ABC"),
    ]
    assert all(e.origin == "remote" and e.gateway == "sms" for e in found)


def test_events_of_a_direct_message_a_file_and_a_deleted_message() -> None:
    dm = events_for(view(to="K1ABC", mentions=("K1ABC",)), {}, "local")
    assert [(e.event, e.target) for e in dm] == [
        ("direct", "K1ABC"),
        ("mention", "K1ABC"),
        ("mention_offline", "K1ABC"),
    ]
    assert [e.event for e in events_for(view(kind="file"), {}, "local")] == ["file"]
    assert events_for(view(deleted=True), {}, "local") == []


def test_payload_round_trips_and_environment_is_flat_text() -> None:
    ev = event(text="a\x00b", contacts=(("sms", "+1555"),), target="K1ABC", event="mention")
    again = type(ev).from_json(ev.to_json("r"))
    assert again == ev
    env = ev.environment("r")
    assert env["MESHCHAT_TEXT"] == "ab"
    assert env["MESHCHAT_CONTACTS"] == "sms:+1555"
    assert env["MESHCHAT_RULE"] == "r" and env["MESHCHAT_EVENT"] == "mention"
    assert set(EVENTS) == {"message", "mention", "mention_offline", "direct", "file"}
