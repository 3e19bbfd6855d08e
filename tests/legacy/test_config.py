"""The [legacy] section: defaults, bounds, and the timings it feeds."""

from __future__ import annotations

from typing import Any

import pytest

from meshchat import config
from meshchat.errors import ConfigError
from meshchat.timing import Timing


def load(**sections: Any) -> config.Config:
    return config.from_mapping(sections, "test.toml")


def test_the_defaults_bridge_the_first_zone_every_10_s() -> None:
    cfg = load(node={"zones": ["Ops", "MeshChat"]})
    assert cfg.legacy.enabled and cfg.legacy.send_message
    assert cfg.legacy_zone == "Ops"
    assert Timing.from_config(cfg).legacy_poll_s == 10.0
    cfg = load(
        node={"zones": ["Ops", "MeshChat"]}, legacy={"zone": "MeshChat", "poll_interval_s": 30}
    )
    assert cfg.legacy_zone == "MeshChat" and Timing.from_config(cfg).legacy_poll_s == 30.0


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"zone": "Elsewhere"}, "legacy.zone"),
        ({"poll_interval_s": 0.5}, "legacy.poll_interval_s"),
        ({"poll_interval_s": 7200}, "legacy.poll_interval_s"),
        ({"max_body_bytes": 1000}, "legacy.max_body_bytes"),
        ({"max_lines": 100}, "legacy.max_lines"),
        ({"bogus": 1}, "legacy.bogus"),
        ({"enabled": "yes"}, "legacy.enabled"),
    ],
)
def test_a_bad_value_names_its_key_and_the_file(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
        load(legacy=table)
    assert "test.toml" in str(info.value)
