"""Base64 decode-and-rescan candidates: every encoded text qualifies, identifiers do not."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from gitsecure.scan.decode import base64_values

PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=12, max_size=200)


@given(text=PRINTABLE, urlsafe=st.booleans(), quote=st.sampled_from(["", '"', "'"]))
def test_any_encoded_printable_text_is_decoded(text: str, urlsafe: bool, quote: str) -> None:
    raw = text.encode()
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw)
    line = b"value: " + quote.encode() + encoded + quote.encode() + b"\n"
    assert [decoded for _, _, decoded in base64_values(line)] == [raw]


def test_identifiers_and_digests_are_not_candidates() -> None:
    data = (
        b"x = local_vars_configuration\n"
        b"kind: V1alpha1ClusterTrustBundle\n"
        b"sha: 7068da2cc3a8051d452b4029a23b73595995893b49ec91882bf1f05e212c\n"
        b"name: resourceVersionMatch\n"
    )
    assert list(base64_values(data)) == []


def test_text_with_tabs_and_newlines_is_decoded() -> None:
    raw = b"user:\tdeploy\npassword:\thunter2-but-longer\r\n"
    line = b"blob=" + base64.b64encode(raw)
    assert [decoded for _, _, decoded in base64_values(line)] == [raw]
