"""Every interval, TTL, heartbeat and back-off of a node, in one frozen value (STYLE.md 12).

Built from the config once by the composition root and handed to whoever waits on a
timer; tests shrink it with ``dataclasses.replace``. Nothing else in meshchat defines a
period of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshchat.config import Config

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def horizon_ms(config: Config) -> int:
    """Return the retention horizon of the node in milliseconds (DESIGN §2.4)."""
    return config.store.max_age_days * DAY_MS


@dataclass(frozen=True)
class Timing:
    """The node's clocks, in seconds unless the name says otherwise."""

    # -- sync (DESIGN §5.2) --
    sync_interval_s: float = 60.0  # anti-entropy round, jittered by JITTER
    push_delay_s: float = 0.05  # gather records posted together into one put
    backoff_base_s: float = 1.0  # the first retry delay of a failing peer; it doubles
    backoff_max_s: float = 300.0  # ...up to this cap
    request_timeout_s: float = 20.0  # one call to a peer, whole
    info_every_s: float = 600.0  # re-read a healthy peer's info (zones, horizons)
    jitter: float = 0.2  # ± fraction applied to periodic rounds
    announce_delay_s: float = 1.0  # gather ids-only announcements on lazy links
    graft_wait_s: float = 1.0  # an announced record may still be on its way eagerly
    settle_s: float = 2.0  # a zone quiet this long after new records: one digest round
    settle_max_s: float = 30.0  # ...and at the latest this long after the first of them
    watch_wait_s: float = 55.0  # a watch held on a peer answers by then, then re-arms
    watch_keep_s: float = 120.0  # records queued for a watcher that stopped polling
    # -- presence and typing --
    presence_interval_s: float = 1.0  # how often this node checks its users for a change
    presence_refresh_s: float = 120.0  # a node with users repeats its version this often
    presence_ttl_s: float = 300.0  # an origin whose version nobody repeats goes after this
    idle_s: float = 300.0  # a browser not seen for this long is no longer "online"
    leave_grace_s: float = 30.0  # a session whose last tab closed stays this long (a reload)
    browser_presence_s: float = 2.0  # how often open tabs are told who is online
    typing_ttl_ms: int = 6000  # a typing notice lapses after this unless repeated
    # -- browsers --
    ws_heartbeat_s: float = 30.0  # WebSocket ping from the node
    head_timeout_s: float = 10.0  # a request head that has begun must be in by then
    body_timeout_s: float = 30.0  # a request body must be read by then
    login_window_s: float = 60.0  # the sliding window of the login rate limit
    # -- files (DESIGN §5.4) --
    blob_retry_s: float = 5.0  # a blob no live peer had is asked for again after this; it doubles
    blob_retry_max_s: float = 300.0  # ...up to this cap
    blob_rescan_s: float = 300.0  # look for announced files whose bytes are still missing
    blob_yield_max_s: float = 10.0  # the longest a chunk request waits for a busy peer link
    download_wait_s: float = 60.0  # a download waits this long for an on-demand fetch
    # -- maintenance and discovery --
    prune_interval_s: float = 3600.0  # retention prune (0: only at start)
    aredn_poll_s: float = 5.0
    aredn_node_poll_s: float = 120.0
    mdns_grace_s: float = 60.0
    # -- the legacy bridge (LEGACY.md "How legacy nodes sync") --
    legacy_poll_s: float = 10.0  # poll every legacy peer (legacy nodes poll every 10 s)
    legacy_not_meshchat_s: float = 600.0  # a peer answering 404 is left alone this long
    legacy_backoff_max_s: float = 60.0  # cap of the back-off of an unreachable legacy peer
    legacy_refetch_s: float = 600.0  # pull messages_raw now and then even if nothing changed

    @classmethod
    def from_config(cls, config: Config, **overrides: float | int) -> Timing:
        """Return the timing a config asks for, with ``overrides`` on top (tests shrink it)."""
        values: dict[str, float | int] = {
            "sync_interval_s": config.sync.sync_interval_s,
            "backoff_max_s": config.sync.backoff_max_s,
            "request_timeout_s": config.sync.request_timeout_s,
            "prune_interval_s": float(config.store.prune_interval_s),
            "aredn_poll_s": config.discovery.aredn_poll_s,
            "aredn_node_poll_s": config.discovery.aredn_node_poll_s,
            "mdns_grace_s": config.discovery.mdns_grace_s,
            "legacy_poll_s": config.legacy.poll_interval_s,
            "download_wait_s": config.files.download_wait_s,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def presence_repeat_s(self) -> float:
        """How often an origin with users repeats its version: well inside the TTL.

        ``presence_refresh_s``, unless the TTL is so short (a test, a tuned node) that a
        list repeated that rarely would expire between repeats and its users flap.
        """
        return min(self.presence_refresh_s, self.presence_ttl_s / 2.5)

    @property
    def peer_stale_s(self) -> float:
        """A peer not synced for three rounds looks stale on the status page."""
        return 3 * self.sync_interval_s

    def for_ui(self) -> dict[str, float]:
        """Return the thresholds the browser UI shows staleness by (it has none of its own)."""
        return {
            "peer_stale_s": self.peer_stale_s,
            "sync_interval_s": self.sync_interval_s,
            "presence_ttl_s": self.presence_ttl_s,
            "idle_s": self.idle_s,
        }
