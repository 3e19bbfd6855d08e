"""The one error base of meshchat, with local faults kept apart from remote ones (STYLE.md 5).

Every exception meshchat raises on purpose derives from ``MeshchatError``. Each carries a
hint of how an HTTP surface answers it (``status``, ``code``); each sub-application maps
errors to its own reply format (JSON, msgpack, legacy text) in one place.
"""

from __future__ import annotations


class MeshchatError(Exception):
    """Base of every error meshchat raises on purpose."""

    status = 500
    code = "internal"
    public = False  # whether a 5xx may show its detail to the client

    def __init__(self, detail: str = "", *, status: int | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class ConfigError(MeshchatError):
    """The configuration is unreadable or invalid; the message names the key and file."""

    code = "bad_config"

    def __init__(self, detail: str, *, key: str = "", why: str = "") -> None:
        super().__init__(detail)
        self.key = key  # the ``section.key`` at fault, when one is
        self.why = why


class LocalProtocolError(MeshchatError):
    """This node misused an API (a bug or a bad argument here, not a peer's fault)."""


class RemoteProtocolError(MeshchatError):
    """A peer or client sent something malformed; it costs them a 4xx and a counter."""

    status = 400
    code = "bad_request"


class RecordRejected(RemoteProtocolError):
    """A record failed ingest validation (DESIGN §2.2); ``reason`` is the counted code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(
            f"{reason}: {detail}" if detail else reason,
            status=429 if reason == "quota" else 400,
            code=f"rejected_{reason}",
        )
        self.reason = reason
        self.detail = detail


class StoreError(MeshchatError):
    """The database is locked, corrupt or otherwise unusable."""

    status = 503
    code = "store_unavailable"


class DiskFull(StoreError):
    """The disk under the database is full: nothing more is stored until space returns."""

    status = 507
    code = "disk_full"
    public = True  # the detail says what to do; it holds nothing private


class IdentityError(MeshchatError):
    """A callsign is invalid or a key file cannot be read or written."""

    status = 400
    code = "bad_request"


class PeerError(MeshchatError):
    """A call to a peer failed: unreachable, timed out, or answered with garbage."""

    status = 502
    code = "peer_failed"


class PeerUnavailable(PeerError):
    """No answer from a peer, or a 5xx: whatever it is, it may be busy or starting up.

    Unlike a 4xx or a reply that is not ours, this says nothing of the peer's kind, so a
    probe never takes a node that failed this way for a legacy one (docs/decisions.md).
    """
