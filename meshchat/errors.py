"""The one error base of meshchat, with local faults kept apart from remote ones."""

from __future__ import annotations


class MeshchatError(Exception):
    """Base of every error meshchat raises on purpose."""


class ConfigError(MeshchatError):
    """The configuration is unreadable or invalid; the message names the key and file."""


class LocalProtocolError(MeshchatError):
    """This node misused an API (a bug or a bad argument here, not a peer's fault)."""


class RemoteProtocolError(MeshchatError):
    """A peer or client sent something malformed; it costs them a 4xx and a counter."""


class RecordRejected(RemoteProtocolError):
    """A record failed ingest validation (DESIGN §2.2); ``reason`` is the counted code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class StoreError(MeshchatError):
    """The database is locked, corrupt or otherwise unusable."""


class IdentityError(MeshchatError):
    """A callsign is invalid or a key file cannot be read or written."""
