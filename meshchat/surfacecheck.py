"""The rules between the keys of the web, files and legacy sections (``config.validate``).

Kept apart from ``config`` so that module stays one idea (reading and typing the file);
each check takes its sections and the ``fail`` of the file being read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from meshchat.errors import ConfigError

if TYPE_CHECKING:
    from meshchat.config import FilesConfig, LegacyConfig, StoreConfig, SyncConfig, WebConfig

ACCESS = ("open", "password", "zone_secret")
Fail = Callable[[str, str], ConfigError]


def check_web(web: WebConfig, store: StoreConfig, sync: SyncConfig, fail: Fail) -> None:
    """Check ``[web]`` against the store's record size and the zone secret."""
    if not 1 <= web.max_text_bytes <= store.max_record_bytes - 1024:
        raise fail("web.max_text_bytes", "must be positive and 1 KiB below store.max_record_bytes")
    if web.session_ttl_s < 60:
        raise fail("web.session_ttl_s", "must be at least 60")
    if web.login_attempts_per_minute < 1:
        raise fail("web.login_attempts_per_minute", "must be at least 1")
    if web.max_connections != 0 and web.max_connections < 16:
        raise fail("web.max_connections", "must be 0 (from the descriptor limit) or at least 16")
    if web.max_connections_per_address < 1:
        raise fail("web.max_connections_per_address", "must be at least 1")
    if web.access not in ACCESS:
        raise fail("web.access", f"must be one of {', '.join(ACCESS)}")
    if web.access == "password" and len(web.password) < 8:
        raise fail("web.password", 'must be at least 8 characters with web.access = "password"')
    if web.access == "zone_secret" and not sync.zone_secret:
        raise fail("web.access", "is zone_secret but sync.zone_secret is not set")


def check_files(files: FilesConfig, fail: Fail) -> None:
    """Check ``[files]``: sizes and waits."""
    if not 1 <= files.max_file_bytes <= files.quota_bytes:
        raise fail("files.max_file_bytes", "must be positive and at most files.quota_bytes")
    if not 4096 <= files.chunk_bytes <= 262_144:
        raise fail("files.chunk_bytes", "must be between 4096 and 262144")
    if files.download_wait_s <= 0:
        raise fail("files.download_wait_s", "must be positive")


def check_legacy(legacy: LegacyConfig, zones: Sequence[str], fail: Fail) -> None:
    """Check ``[legacy]``: its zone is served, its bounds are sane."""
    if legacy.zone and legacy.zone not in zones:
        raise fail("legacy.zone", f"must be one of node.zones, got {legacy.zone!r}")
    if not 1 <= legacy.poll_interval_s <= 3600:
        raise fail("legacy.poll_interval_s", "must be between 1 and 3600")
    if not 64 * 1024 <= legacy.max_body_bytes <= 16 * 1024 * 1024:
        raise fail("legacy.max_body_bytes", "must be between 65536 and 16777216")
    if not 500 <= legacy.max_lines <= 10_000:
        raise fail("legacy.max_lines", "must be between 500 and 10000")
