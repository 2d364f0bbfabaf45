"""Loading controller keys from PEM files and key Secret backups."""

from __future__ import annotations

import base64

import pytest
import yaml

from gitsecure.crypto.keys import KeyPair, dump_certificate, dump_private_key
from gitsecure.errors import InputError
from gitsecure.seal.recovery import load_key_material


def test_pem_with_several_keys_and_their_certificates(small_pair: KeyPair, other_pair: KeyPair) -> None:
    raw = b"".join(dump_private_key(p.private_key) + dump_certificate(p.certificate) for p in (small_pair, other_pair))
    material = load_key_material(raw, source="f")
    assert [m.certificate for m in material] == [small_pair.certificate, other_pair.certificate]


def test_key_list_backup_with_a_corrupt_certificate_still_loads_the_key(small_pair: KeyPair) -> None:
    cert = bytearray(dump_certificate(small_pair.certificate))
    cert[300] = ord("A") if cert[300] != ord("A") else ord("B")
    item = {
        "kind": "Secret",
        "metadata": {"name": "k"},
        "data": {
            "tls.key": base64.b64encode(dump_private_key(small_pair.private_key)).decode(),
            "tls.crt": base64.b64encode(bytes(cert)).decode(),
        },
    }
    [material] = load_key_material(yaml.safe_dump({"kind": "List", "items": [item]}).encode(), source="f")
    assert material.private_key.private_numbers() == small_pair.private_key.private_numbers()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"items": 5}', "must be a list"),
        (b"kind: Secret\nmetadata: {name: k}\ndata: {other: eA==}\n", "must contain a 'tls.key' key"),
        (b"kind: List\nitems: []\n", "holds no private key"),
    ],
)
def test_bad_backups(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_key_material(raw, source="f")


def test_many_unterminated_pem_headers_are_rejected_quickly() -> None:
    # A backtracking regex took ~15 s on 8,000 of these; the scan is linear (no timing assertion here).
    raw = b"-----BEGIN PRIVATE KEY-----\n" * 20000
    with pytest.raises(InputError):
        load_key_material(raw, source="f")
