"""Serve an aiohttp application from a background thread, so synchronous tests can talk HTTP to it.

The application runs in its own event loop, exactly as the controller runs it
(through :func:`gitsecure.controller.httpapi.start_site`), on 127.0.0.1 and a
free port. Tests then use plain ``urllib`` or a ``gitsecure`` subprocess.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from gitsecure.controller.httpapi import start_site


@dataclass(frozen=True)
class Reply:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The Content-Type header, or "" when absent."""
        return self.headers.get("Content-Type", "")


@dataclass(frozen=True)
class Served:
    """A running application: its port and a way to call it."""

    port: int
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, path: str, *, method: str = "GET", body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """One request over real HTTP; HTTP errors are answers, not exceptions."""
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=30) as response:  # a hang guard only
                return Reply(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            with exc:  # closes the connection, as the success path does
                return Reply(exc.code, dict(exc.headers.items()), exc.read())


@contextmanager
def serve(make_app: Callable[[], web.Application], addr: str = "127.0.0.1:0") -> Iterator[Served]:
    """Build the app inside the server loop (aiohttp wants that), serve it, and stop it on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served-app", daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, int]:
        return await start_site(make_app(), addr)

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield Served(port, loop)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
