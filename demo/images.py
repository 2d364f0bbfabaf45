"""Demo helper: a throwaway docker-registry on loopback and two small images pushed to it.

``python demo/images.py serve DIR`` runs Debian's docker-registry with storage in DIR on a free 127.0.0.1 port,
prints ``host:port`` once it answers, and stops it when stdin closes. ``python demo/images.py push HOST/REPO:TAG``
pushes a small random image and prints its digest.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from gitsecure.verify.images.reference import parse_image_ref
from gitsecure.verify.images.registry import RegistryClient

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def serve(directory: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = directory / "registry.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {directory / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    # Debian's package puts docker-registry on PATH; the config is the one written just above.
    proc = subprocess.Popen(  # noqa: S603
        ["docker-registry", "serve", str(config)],  # noqa: S607
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(400):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.025)
        print(f"127.0.0.1:{port}", flush=True)
        sys.stdin.read()  # until the demo closes our stdin
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def push(reference: str) -> None:
    ref = parse_image_ref(reference)
    client = RegistryClient(allow_http=True)
    layer = os.urandom(256)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer_desc = client.put_blob(ref, layer)
    config_desc = client.put_blob(ref, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": config_desc.size,
            "digest": config_desc.digest,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "size": layer_desc.size,
                "digest": layer_desc.digest,
            }
        ],
    }
    print(client.put_manifest(ref, ref.tag or "latest", json.dumps(manifest).encode(), OCI_MANIFEST).digest)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        push(sys.argv[2])
