"""Watch streams: JSON lines of ADDED/MODIFIED/DELETED events over a chunked HTTP response.

Semantics as the API server's watch cache: without ``resourceVersion`` (or with "0") the stream starts
with the current objects as ADDED; with one it replays the changes after it, or sends an ERROR event
with a 410 Status when that version has been compacted away. ``labelSelector``/``fieldSelector``
apply to every event (objects that enter or leave the selection are ADDED/DELETED), and
``timeoutSeconds`` ends the stream. No BOOKMARK events are sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp.web

from tests.support.kube.apistatus import bad_request, status_body
from tests.support.kube.store import ObjectStore, Watcher

_CHUNK = 64 * 1024
_POLL = 0.5  # how often an idle stream checks that its client is still there


def _line(kind: str, obj: Mapping[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


async def _write_batched(response: aiohttp.web.StreamResponse, lines: Iterable[bytes]) -> None:
    buffer = bytearray()
    for line in lines:
        buffer += line
        if len(buffer) >= _CHUNK:
            await response.write(bytes(buffer))
            buffer.clear()
    if buffer:
        await response.write(bytes(buffer))


def _timeout(params: Mapping[str, str]) -> float | None:
    text = params.get("timeoutSeconds")
    if not text:
        return None
    try:
        return max(float(int(text)), 0.0)
    except ValueError:
        raise bad_request(f"invalid timeoutSeconds {text!r}") from None


async def serve_watch(
    store: ObjectStore, watcher: Watcher, params: Mapping[str, str], raw: aiohttp.web.BaseRequest
) -> aiohttp.web.StreamResponse:
    """Stream events for ``watcher`` until the client leaves, the timeout passes or the store closes it."""
    timeout = _timeout(params)
    rv_text = params.get("resourceVersion") or ""
    initial: list[bytes] = []
    backlog: list[bytes] | None = []
    if rv_text in ("", "0"):
        initial = [
            _line("ADDED", obj) for obj in store.items(watcher.resource, watcher.namespace) if watcher.accepts(obj)
        ]
    else:
        try:
            since = int(rv_text)
        except ValueError:
            raise bad_request(f"invalid resource version {rv_text!r}") from None
        changes = store.changes_since(watcher.resource, since)
        if changes is None:
            backlog = None
        else:
            backlog = [_line(*event) for change in changes if (event := watcher.translate(change)) is not None]
    # Registered in the same loop step as the snapshot above, so no change falls in between.
    store.add_watcher(watcher)
    response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout is not None else None
    try:
        await response.prepare(raw)
        if backlog is None:
            gone = status_body(410, f"too old resource version: {rv_text} ({store.compacted})", reason="Expired")
            await response.write(_line("ERROR", gone))
            await response.write_eof()
            return response
        await _write_batched(response, [*initial, *backlog])
        while True:
            wait = _POLL if deadline is None else min(_POLL, deadline - loop.time())
            if wait <= 0:
                break
            try:
                change = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if raw.transport is None or raw.transport.is_closing():
                    break
                continue
            if change is None:
                break
            event = watcher.translate(change)
            if event is not None:
                lines = [_line(*event)]
                # Drain what is already queued into the same write.
                while not watcher.queue.empty():
                    queued = watcher.queue.get_nowait()
                    if queued is None:
                        watcher.queue.put_nowait(None)
                        break
                    if (more := watcher.translate(queued)) is not None:
                        lines.append(_line(*more))
                await _write_batched(response, lines)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away; nothing to tell it
    finally:
        store.remove_watcher(watcher)
    return response
