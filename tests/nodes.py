"""Real nodes on 127.0.0.1 port 0 for tests, and a small JSON API client (STYLE.md 11)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from meshchat import app, config


def node_config(data_dir: Path, **overrides: Any) -> config.Config:
    """Return a config for a test node listening on an ephemeral loopback port."""
    values: dict[str, Any] = {
        "node__data_dir": data_dir,
        "node__listen": "127.0.0.1:0",
        "node__name": "test-node",
    }
    values.update(overrides)
    return config.with_overrides(config.Config(), **values)


@dataclass
class Reply:
    """An HTTP status and its decoded JSON body."""

    status: int
    body: Any


class ApiClient:
    """Talks to one node's ``/api/v1`` like the browser UI does (cookie + CSRF header)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf: str | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()

    async def request(
        self, method: str, path: str, *, json: Any = None, csrf: bool = True, **kw: Any
    ) -> Reply:
        """Send a request; add the CSRF header when logged in and ``csrf`` is set."""
        headers = dict(kw.pop("headers", {}))
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        async with self.http.request(
            method, self.base + path, json=json, headers=headers, **kw
        ) as resp:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                body = await resp.text()
            return Reply(resp.status, body)

    async def login(self, callsign: str, passphrase: str | None = None) -> Reply:
        """Log in and remember the CSRF token."""
        payload: dict[str, Any] = {"callsign": callsign}
        if passphrase is not None:
            payload["passphrase"] = passphrase
        reply = await self.request("POST", "/api/v1/login", json=payload)
        if reply.status == 200:
            self.csrf = reply.body["csrf_token"]
        return reply

    async def post(self, text: str, channel: str = "", **fields: Any) -> Reply:
        """Post a message."""
        return await self.request(
            "POST", "/api/v1/messages", json={"channel": channel, "text": text, **fields}
        )

    async def messages(self, **params: Any) -> list[dict[str, Any]]:
        """Return ``GET /api/v1/messages`` results (asserting a 200)."""
        reply = await self.request("GET", "/api/v1/messages", params=params)
        assert reply.status == 200, reply
        result: list[dict[str, Any]] = reply.body["messages"]
        return result


async def start_node(data_dir: Path, **overrides: Any) -> app.RunningNode:
    """Start a node for a test (stop it with ``await node.stop()``)."""
    return await app.start(node_config(data_dir, **overrides))
