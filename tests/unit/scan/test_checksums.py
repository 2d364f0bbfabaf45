"""Provider checksums: known-good tokens pass, one changed character fails."""

from __future__ import annotations

import base64
import zlib

import pytest

from gitsecure.scan.checksums import CHECKSUMS, github_crc32, grafana_crc32, npm_crc32, pypi_macaroon

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62(value: int) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 62)
        out = _B62[digit] + out
    return out.rjust(6, "0")


def test_github_published_example() -> None:
    # The example of the format from the base62-token write-up of GitHub's 2021 token format.
    assert github_crc32("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")
    assert not github_crc32("ghp_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq18")
    assert not github_crc32("ghp_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq1")
    assert not github_crc32("gha_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq17")


@pytest.mark.parametrize("prefix", ["gho_", "ghu_", "ghs_", "ghr_"])
def test_github_other_prefixes(prefix: str) -> None:
    body = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5"
    assert github_crc32(prefix + body + _b62(zlib.crc32(body.encode())))


def test_npm_token() -> None:
    body = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0"
    token = "npm_" + body + _b62(zlib.crc32(body.encode()))
    assert npm_crc32(token)
    assert not npm_crc32(token[:-1] + ("0" if token[-1] != "0" else "1"))


def test_grafana_tokens_published_in_public_repositories() -> None:
    assert grafana_crc32("glsa_59XrtzqaLhSMrlep4eCcGvPsXCaf9xE6_b83d1d4f")
    assert grafana_crc32("glsa_18jsK51ALMvwoM7wnaevzGKSLp6UOsTm_07394f66")
    assert not grafana_crc32("glsa_18jsK51ALMvwoM7wnaevzGKSLp6UOsTm_07394f67")
    assert not grafana_crc32("glsa_18jsK51ALMvwoM7wnaevzGKSLp6UOsTm_zz394f66")


def test_pypi_macaroon_structure() -> None:
    body = base64.urlsafe_b64encode(b"\x02\x01\x08pypi.org\x02\x01\x00" + bytes(range(40))).decode().rstrip("=")
    assert pypi_macaroon("pypi-" + body)
    assert not pypi_macaroon("pypi-" + "A" * 60)
    assert not pypi_macaroon("pypi-!!!!")


def test_registry_names() -> None:
    assert set(CHECKSUMS) == {"github-crc32", "npm-crc32", "grafana-crc32", "pypi-macaroon"}
