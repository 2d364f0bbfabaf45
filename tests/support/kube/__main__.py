"""Run a KubeCluster until SIGTERM/SIGINT: ``python -m tests.support.kube --kubeconfig PATH [--ready-file F]``.

For ``make demo`` and ``bench/controller.py``, which need an API server in another process. It writes
a kubeconfig (the token in it is a random dummy), then the ready file (the server URL), and prints
only the URL and paths. ``--service NS/NAME[:PORTNAME]=PORT`` sends that Service's proxy to a local port.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tests.support.kube.cluster import KubeCluster

_SERVICE = re.compile(r"^(?P<ns>[a-z0-9-]+)/(?P<name>[a-z0-9.-]+)(?::(?P<port_name>[a-z0-9-]*))?=(?P<port>\d+)$")


def _service(text: str) -> tuple[str, str, str, int]:
    match = _SERVICE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected NS/NAME[:PORTNAME]=PORT, got {text!r}")
    return match["ns"], match["name"], match["port_name"] or "", int(match["port"])


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until a signal; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.kube", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, type=Path, help="where to write the kubeconfig")
    parser.add_argument("--ready-file", type=Path, help="written (with the server URL) once serving")
    parser.add_argument("--namespace", action="append", default=[], help="create this Namespace too (repeatable)")
    parser.add_argument("--context-namespace", default="default", help="the kubeconfig context's namespace")
    parser.add_argument("--service", action="append", default=[], type=_service, help="NS/NAME[:PORTNAME]=PORT")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with KubeCluster(namespaces=args.namespace) as cluster:
        cluster.write_kubeconfig(args.kubeconfig, namespace=args.context_namespace)
        for namespace, name, port_name, port in args.service:
            cluster.create_namespace(namespace)
            cluster.expose_service(namespace, name, port_name, port)
        if args.ready_file is not None:
            partial = args.ready_file.with_name(args.ready_file.name + ".tmp")
            partial.write_text(cluster.url + "\n", encoding="utf-8")
            partial.replace(args.ready_file)  # atomic: a reader never sees half a file
        print(f"kube emulator on {cluster.url}; kubeconfig {args.kubeconfig}", flush=True)
        while not stop.wait(0.5):
            pass
    if args.ready_file is not None:
        args.ready_file.unlink(missing_ok=True)
    print("kube emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
