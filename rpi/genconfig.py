"""Write the packaged /etc/meshchat/meshchat.toml from meshchat.config and the README.

    python3 rpi/genconfig.py > rpi/meshchat.toml      # regenerate after a config change

Every key of every section appears with its built-in default, commented out, under the
README's one-line meaning; the few values the package sets differently (PACKAGED) are
live lines. tests/packaging/test_config_file.py fails when rpi/meshchat.toml differs
from what this prints, so the shipped file cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from meshchat import config  # noqa: E402

# What the Debian package sets differently from the built-in defaults (DESIGN §5.3: the
# packaged configs turn discovery on).
PACKAGED: dict[str, Any] = {
    "node.data_dir": "/var/lib/meshchat",
    "discovery.mdns": True,
}
PLACEHOLDERS = {"node.name": ("HOSTNAME", "this machine's host name")}
ROW = re.compile(r"^\| `([a-z_]+(?:\[\])?\.[a-z_]+)` \| (.*?) \| (.*) \|$")
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")

HEADER = """\
# meshchat — /etc/meshchat/meshchat.toml (Debian package)
#
# Read at start. `systemctl reload meshchat` re-reads it and applies sync.peers, the
# discovery.* keys and node.log_level at once; any other change needs
# `systemctl restart meshchat`. Check a change first with `meshchat doctor`.
#
# Every key is listed with its built-in default, commented out: remove the "#" to change
# it. Lines without "#" are what this package sets differently from the defaults.
# The README's "Configuration" section says more about each key.
"""

PEERS_EXAMPLE = """\
# Static peers that need options, one [[peers]] table each:
# [[peers]]
# url = "http://10.1.2.4:8080"   # (required)
# kind = "auto"                   # auto (probe it), native or legacy
#
# Action rules ([[actions]]) and SMS senders ([[gateway_senders]]): see the README,
# "Action scripts and gateways"; `meshchat scripts` lists the bundled gateway scripts.
"""


def meanings(readme: Path) -> dict[str, str]:
    """Return the README's meaning of every ``section.key`` (its config tables)."""
    found: dict[str, str] = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found[match.group(1)] = LINK.sub(r"\1", match.group(3)).replace("`", "")
    return found


def toml_value(value: Any) -> str:
    """Return ``value`` as TOML (strings in JSON's quoting, which TOML shares)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def render(readme: Path = ROOT / "README.md") -> str:
    """Return the packaged config file."""
    about = meanings(readme)
    defaults = config.Config()
    out = [HEADER]
    for section, cls in config.SECTIONS.items():
        out.append(f"[{section}]")
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            for line in textwrap.wrap(about.get(key, ""), 86):
                out.append(f"# {line}")
            if key in PLACEHOLDERS:
                shown, what = PLACEHOLDERS[key]
                out.append(f"# {f.name} = {toml_value(shown)}   (default: {what})")
            else:
                out.append(
                    f"# {f.name} = {toml_value(getattr(getattr(defaults, section), f.name))}"
                )
            if key in PACKAGED:
                out.append(f"{f.name} = {toml_value(PACKAGED[key])}")
            out.append("")
        out.append("")
    out.append(PEERS_EXAMPLE)
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
