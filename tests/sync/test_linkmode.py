"""A link's mode after a push: prune on duplicates, unless it is a node's last eager link."""

from __future__ import annotations

from meshchat.sync.pusher import LinkMode
from meshchat.sync.replies import PutReply


def test_all_duplicates_prune_an_eager_link_that_is_not_the_last() -> None:
    mode = LinkMode()
    assert mode.took(["dup", "dup"]) is False
    assert not mode.eager and mode.changes == {"prune_dup": 1}


def test_the_last_eager_link_is_kept_through_duplicates_and_says_so() -> None:
    mode = LinkMode(sole=lambda m: True)
    assert mode.took(["dup"]) is True
    assert mode.eager and mode.changes == {"kept": 1}


def test_the_other_end_asking_to_keep_keeps_the_link() -> None:
    mode = LinkMode()
    assert mode.took(["dup"], keep=True) is True
    assert mode.eager and mode.changes == {"kept": 1}


def test_a_lazy_link_is_grafted_when_the_other_end_asks_to_keep_it() -> None:
    mode = LinkMode(eager=False)
    assert mode.took(["dup"], keep=True) is True
    assert mode.eager and mode.changes == {"graft_asked": 1}


def test_a_lazy_link_that_is_not_asked_for_stays_lazy_and_anything_new_grafts_it() -> None:
    mode = LinkMode(eager=False, sole=lambda m: True)
    assert mode.took(["dup"]) is False
    assert not mode.eager
    assert mode.took(["dup", "ok"]) is False
    assert mode.eager and mode.changes == {"graft_new": 1}


def test_an_empty_put_that_asks_to_keep_is_a_graft() -> None:
    mode = LinkMode(eager=False)
    assert mode.took([], keep=True) is True
    assert mode.eager and mode.changes == {"graft_asked": 1}


def test_an_empty_or_rejected_push_changes_nothing() -> None:
    mode = LinkMode()
    assert mode.took([]) is False
    assert mode.took(["dup", "reject:schema"]) is False
    assert mode.eager and mode.changes == {}


def test_a_put_reply_carries_keep_only_when_true() -> None:
    assert PutReply(("dup",)).to_wire() == {"results": ["dup"]}
    kept = PutReply(("dup",), keep=True)
    assert kept.to_wire() == {"results": ["dup"], "keep": True}
    assert PutReply.parse(kept.to_wire()).keep is True
    assert PutReply.parse({"results": ["dup"], "keep": 1}).keep is False  # only a true bool
