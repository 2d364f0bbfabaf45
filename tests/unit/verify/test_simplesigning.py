"""The simple-signing payload: cosign's exact bytes, strict parsing."""

from __future__ import annotations

import pytest

from gitsecure.verify.images.simplesigning import PayloadRejected, build_payload, go_json_string, parse_payload

DIGEST = "sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"
# cosign pkg/cosign/obsolete_test.go (TestObsoletePayload): "generating _exactly_ the same string ... is essential".
COSIGN_BYTES = (
    b'{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":'
    b'"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image '
    b'signature"},"optional":null}'
)


def test_payload_bytes_match_cosign() -> None:
    assert build_payload("index.docker.io/namespace/image", DIGEST) == COSIGN_BYTES


def test_annotations_are_sorted_and_go_escaped() -> None:
    payload = build_payload("r/x", DIGEST, {"z": "<a&b>", "a": "é\u2028"})
    assert payload.endswith(b'"optional":{"a":"\xc3\xa9\\u2028","z":"\\u003ca\\u0026b\\u003e"}}')
    assert parse_payload(payload).annotations == {"a": "é\u2028", "z": "<a&b>"}
    assert go_json_string('"\\\n\x01\b') == '"\\"\\\\\\n\\u0001\\b"'


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            COSIGN_BYTES.replace(b"cosign container image signature", b"atomic container signature"),
            "wrong-payload-type",
        ),
        (COSIGN_BYTES.replace(b"docker-manifest-digest", b"Docker-manifest-digest"), "malformed-payload"),
        (COSIGN_BYTES.replace(b'"optional":null', b'"optional":null,"optional":{}'), "malformed-payload"),
        (COSIGN_BYTES.replace(b'"type"', b'"extra":1,"type"'), "malformed-payload"),
        (COSIGN_BYTES.replace(b"sha256:4aa3", b"sha256:4AA3"), "malformed-payload"),
        (COSIGN_BYTES.replace(b'"optional":null', b'"optional":[]'), "malformed-payload"),
        (b"null", "malformed-payload"),
        (b"\xff", "malformed-payload"),
    ],
)
def test_strict_parsing(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as info:
        parse_payload(payload)
    assert info.value.reference == reason
