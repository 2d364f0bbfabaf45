"""Where the sealing certificate comes from: a file, a URL, or the controller."""

from __future__ import annotations

import re
from pathlib import Path

from gitsecure.errors import InputError, RemoteError
from gitsecure.seal.kubeconfig import ClusterOptions, ControllerRef

_URL = re.compile(r"^(https?)://", re.IGNORECASE)
_MAX_CERT_BYTES = 1 << 20


def read_certificate(
    cert: str | None, *, options: ClusterOptions, controller: ControllerRef, timeout: float | None = 30.0
) -> bytes:
    """Certificate bytes from ``--cert`` (path, ``file://`` or ``http(s)://``) or from the controller."""
    if not cert:
        from gitsecure.seal.cluster import ControllerClient  # noqa: PLC0415 - only when the cluster is needed

        return ControllerClient(options, controller).fetch_certificate()
    if _URL.match(cert):
        return _fetch_url(cert, timeout=timeout)
    path = cert[len("file://") :] if cert.lower().startswith("file://") else cert
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(_MAX_CERT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read certificate {path}: {exc.strerror}", reference="cert-unreadable") from None
    if len(data) > _MAX_CERT_BYTES:
        raise InputError(f"certificate file {path} is larger than 1 MiB", reference="bad-certificate")
    return data


def _fetch_url(url: str, *, timeout: float | None) -> bytes:
    # Imported here: urllib.request costs ~20 ms, and most runs read a local file.
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    # urllib honours HTTP(S)_PROXY and NO_PROXY, as kubeseal does.
    request = urllib.request.Request(url, headers={"Accept": "application/x-pem-file, */*"})  # noqa: S310
    try:
        # timeout=None blocks without limit (the 0 = "no timeout" convention of kubectl)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            data: bytes = response.read(_MAX_CERT_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise RemoteError(f'cannot fetch "{url}": {exc.code} {exc.reason}', reference="cert-fetch-failed") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RemoteError(f'cannot fetch "{url}": {reason}', reference="cert-fetch-failed") from None
    if len(data) > _MAX_CERT_BYTES:
        raise RemoteError(f'cannot fetch "{url}": response larger than 1 MiB', reference="cert-fetch-failed")
    return data
