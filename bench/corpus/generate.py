"""Write the labelled accuracy corpus: its files into a directory, its labels into ``labels.json``.

``bench/accuracy.py`` generates the files into a temporary directory on every run; they are never
committed, so the repository holds no credential-shaped strings a scanner (gitsecure, GitHub push
protection) would flag, without any allowlist. To read them, run
``.venv/bin/python bench/corpus/generate.py --out DIR``; that also rewrites ``labels.json``, which
is committed so the labels can be reviewed. The output is byte-for-byte the same every time (a
fixed seed). Every credential is FAKE: generated here from the provider's documented format
(prefix, length, alphabet, and the check digits where the provider defines them), never taken
from anywhere. The files imitate where credentials really end up: ``.env``
files, application config, code, CI definitions, Terraform, Helm values, Kubernetes manifests,
kubeconfigs and Docker auth files; next to them the look-alikes a scanner must leave alone.

Labels (``labels.json``): one entry per labelled line, ``{"path", "line", "secret", "family",
"rule", "note"}`` with ``path`` relative to ``files/``. ``secret`` true means a tool should report
that line; false means it must not. ``rule`` is the gitsecure rule id expected where one is
obvious, else null (the family is always set). Lines without a label are ordinary text: a
finding there counts against precision as "unlabelled".
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import tempfile
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

from corpus_files import build_files

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels.json"
SEED = 20260301
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Label:
    """What a line is: a secret a tool must report, or a look-alike it must not."""

    secret: bool
    family: str
    rule: str | None = None
    note: str = ""


def T(family: str, rule: str | None = None, note: str = "") -> Label:
    """A true secret on this line."""
    return Label(True, family, rule, note)


def F(family: str, note: str) -> Label:
    """A look-alike on this line that no tool should report."""
    return Label(False, family, None, note)


class Tokens:
    """Fake credentials in their providers' formats, from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, length: int) -> str:
        """``length`` characters drawn from ``alphabet``."""
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def hex(self, length: int) -> str:
        """Lower-case hex digits."""
        return self.chars(HEX, length)

    def b64(self, size: int) -> str:
        """Standard base64 of ``size`` random bytes."""
        return base64.b64encode(self.rng.randbytes(size)).decode()

    def password(self, length: int = 18) -> str:
        """A strong generated password (URL-safe, so it also fits in connection strings)."""
        return self.chars(ALNUM + "-_.~", length)

    @staticmethod
    def _base62(value: int) -> str:
        out = ""
        while value:
            value, digit = divmod(value, 62)
            out = B62[digit] + out
        return out.rjust(6, "0")

    def crc_token(self, prefix: str) -> str:
        """GitHub/npm 2021 format: prefix, 30 base62 characters, 6-character base62 CRC-32 of them."""
        body = self.chars(B62, 30)
        return prefix + body + self._base62(zlib.crc32(body.encode()))

    def bad_crc_token(self, prefix: str) -> str:
        """The same shape with the check digits of a different body: not a real token."""
        good = self.crc_token(prefix)
        return good[:-6] + self.crc_token(prefix)[-6:]

    def grafana(self) -> str:
        """``glsa_`` token, CRC-32 (little-endian hex) of everything before the last underscore."""
        body = "glsa_" + self.chars(ALNUM, 32)
        return f"{body}_{zlib.crc32(body.encode()).to_bytes(4, 'little').hex()}"

    def pypi(self) -> str:
        """A PyPI API token: ``pypi-`` and a base64url version-2 macaroon whose location is pypi.org."""
        raw = bytes([2, 1, 8]) + b"pypi.org" + bytes([2, 1, 0x31, 0x00, 0x06, 0x20]) + self.rng.randbytes(130)
        return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def jwt(self, payload: dict[str, object]) -> str:
        """A signed-looking JWT (HS256 header, the payload, 32 random bytes as the signature)."""

        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).decode().rstrip("=")

        header = part(b'{"alg":"HS256","typ":"JWT"}')
        return f"{header}.{part(json.dumps(payload, separators=(',', ':')).encode())}.{part(self.rng.randbytes(32))}"

    def pem_body(self, size: int) -> list[str]:
        """Base64 lines of 64 columns, as a PEM body has."""
        return textwrap.wrap(self.b64(size), 64)


def write(files: dict[str, list[tuple[str, Label | None]]], out: Path) -> list[dict[str, object]]:
    """Write each file under ``out`` and return the labels with their 1-based line numbers."""
    labels: list[dict[str, object]] = []
    for path, entries in sorted(files.items()):
        lines: list[str] = []
        for text, label in entries:
            if label is not None:
                # A label belongs to the entry's first non-blank line (entries may start with "\n").
                blank = len(text) - len(text.lstrip("\n"))
                labels.append(
                    {
                        "path": path,
                        "line": len(lines) + 1 + blank,
                        "secret": label.secret,
                        "family": label.family,
                        "rule": label.rule,
                        "note": label.note,
                    }
                )
            lines.extend(text.split("\n"))
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
    return labels


def build(out: Path) -> dict[str, object]:
    """Write every corpus file under ``out``; return the manifest (``files`` and ``labels``)."""
    files = build_files(Tokens(SEED), T, F)
    return {"files": sorted(files), "labels": write(files, out)}


def main(argv: list[str] | None = None) -> None:
    """Write the files into ``--out`` and rewrite ``labels.json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "gitsecure-corpus")
    args = parser.parse_args(argv)
    manifest = build(args.out)
    LABELS.write_text(json.dumps(manifest, indent=1) + "\n")
    labels = manifest["labels"]
    assert isinstance(labels, list)
    true_count = sum(1 for label in labels if label["secret"])
    print(
        f"{args.out}: {len(manifest['files'])} files (labels in {LABELS.name}),"  # type: ignore[arg-type]
        f" {true_count} true and {len(labels) - true_count} false labelled lines"
    )


if __name__ == "__main__":
    main()
