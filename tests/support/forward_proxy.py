"""A plain-HTTP forward proxy on 127.0.0.1 that maps documented placeholder hosts to local test servers.

ESO's example manifests name servers such as ``http://my.vault.server:8200``. Instead of editing them, the
controller process gets ``HTTP_PROXY`` pointing here (as a corporate proxy would be configured), and this proxy
sends ``my.vault.server:8200`` to the OpenBao dev server. Any host not in the map is refused with 502, so a
test can never reach the network by accident.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Mapping
from types import TracebackType

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}


class ForwardProxy:
    """``routes`` maps ``host:port`` (as in the URL) to a local ``(host, port)``; a context manager."""

    def __init__(self, routes: Mapping[str, tuple[str, int]]) -> None:
        self.routes = dict(routes)
        self.requests: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads ``requests`` instead."""

            def _forward(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                target = proxy.routes.get(url.netloc)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if url.scheme != "http" or target is None:
                    self.send_error(502, "no route for this host in the test proxy")
                    return
                proxy.requests.append(f"{self.command} {url.netloc}{url.path}")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                connection = http.client.HTTPConnection(*target, timeout=30)
                try:
                    path = url.path + (f"?{url.query}" if url.query else "")
                    connection.request(self.command, path, body=body, headers=headers)
                    answer = connection.getresponse()
                    payload = answer.read()
                except OSError:
                    self.send_error(502, "upstream unreachable")
                    return
                finally:
                    connection.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in _HOP_BY_HOP | {"content-length", "transfer-encoding"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_LIST = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="forward-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The value for ``HTTP_PROXY``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ForwardProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
