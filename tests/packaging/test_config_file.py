"""The packaged /etc/meshchat/meshchat.toml is generated from meshchat.config and stays so."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from meshchat import config

RPI = Path(__file__).resolve().parents[2] / "rpi"
SHIPPED = RPI / "meshchat.toml"


def genconfig() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genconfig", RPI / "genconfig.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("genconfig", module)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_file_is_what_the_generator_prints() -> None:
    assert SHIPPED.read_text() == genconfig().render(), (
        "rpi/meshchat.toml is stale: python3 rpi/genconfig.py > rpi/meshchat.toml"
    )


def test_it_loads_as_the_defaults_plus_what_the_package_sets() -> None:
    loaded = config.load(SHIPPED)
    expected = config.with_overrides(
        config.Config(), node__data_dir="/var/lib/meshchat", discovery__mdns=True
    )
    for section in config.SECTIONS:
        got, want = getattr(loaded, section), getattr(expected, section)
        if section == "node":  # the name defaults to the host name in both
            got, want = dataclasses.replace(got, name=""), dataclasses.replace(want, name="")
        assert got == want, section
    assert loaded.discovery.mdns  # DESIGN §5.3: the packaged configs turn discovery on


def test_every_key_is_listed_with_its_default_in_its_section() -> None:
    text = SHIPPED.read_text()
    sections = dict(re.findall(r"^\[(\w+)\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S))
    defaults = config.Config()
    gen = genconfig()
    for key in config.documented_keys():
        section, name = key.split(".")
        body = sections[section]
        if key in gen.PLACEHOLDERS:
            assert f"# {name} = " in body, key
            continue
        value = gen.toml_value(getattr(getattr(defaults, section), name))
        assert f"\n# {name} = {value}\n" in "\n" + body, key
