"""Running a blocking HTTP(S) server until SIGTERM, for ``verify serve`` and ``verify webhook``."""

from __future__ import annotations

import signal
import threading
from typing import Any, Protocol


class _Server(Protocol):
    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


def serve_until_sigterm(server: _Server) -> None:
    """Serve until SIGTERM (a clean stop, as Kubernetes asks for one), then close; the previous handler is restored."""

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever to return, so it must not run on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
