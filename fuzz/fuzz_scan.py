"""Fuzz the scanning engine (atheris): any bytes, any path, never an exception, findings well-formed.

Usage::

    .venv/bin/python fuzz/fuzz_scan.py                       # the fixed default budget
    .venv/bin/python fuzz/fuzz_scan.py -atheris_runs=200000  # any atheris/libFuzzer flag
    .venv/bin/python fuzz/fuzz_scan.py crash-1a2b...         # replay one input

The first byte of an input picks the fragment shape (whole file or a hunk with
line numbers) and the path (a YAML manifest, a Python file, a lock file...); the
rest is the data. The engine runs with decoding two levels deep, so nested base64
is exercised too. The built-in rules are used when their modules are all present,
else a small set written here (a generic assignment rule, a PEM rule, a GitHub
token with its checksum): the engine, not the rule tables, is under test.

Oracle: ``scan`` returns findings whose lines lie in the fragment's line range,
whose columns are >= 1, sorted by (line, column, rule id), with no exact repeats.
Any exception is a crash.
"""

from __future__ import annotations

import atheris
import harness

with atheris.instrument_imports(include=["gitsecure"]):
    # The engine loads the GitOps analyzer lazily; import its modules here so
    # they are instrumented too and the fuzzer gets coverage feedback inside them.
    import gitsecure.scan.gitops.docker
    import gitsecure.scan.gitops.helm
    import gitsecure.scan.gitops.jsontree
    import gitsecure.scan.gitops.kubeconfig
    import gitsecure.scan.gitops.kubernetes
    import gitsecure.scan.gitops.terraform
    import gitsecure.scan.gitops.tree  # noqa: F401
    from gitsecure.scan.engine import Engine
    from gitsecure.scan.finding import Fragment
    from gitsecure.scan.rule import Rule
    from gitsecure.scan.settings import ScanSettings

PATHS = ("deploy/secret.yaml", "app/settings.py", "values.json", "package-lock.json", "kubeconfig", "x.env")

FALLBACK_RULES = (
    Rule("github-pat", "GitHub PAT", r"\b(ghp_[A-Za-z0-9]{36})\b", keywords=("ghp_",), validator="github-crc32"),
    Rule(
        "private-key",
        "Private key",
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY-----[\s\S]{64,}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY-----",
        keywords=("-----begin",),
    ),
    Rule(
        "generic-api-key",
        "Generic secret",
        r"""(?i)(?:key|token|secret|password)\w*\s*[:=]\s*["']?([\w.=+/-]{10,150})["']?""",
        keywords=("key", "token", "secret", "password"),
        entropy=3.0,
        allow_regexes=("(?i)example",),
        allow_target="line",
    ),
)


def _rules() -> tuple[Rule, ...]:
    try:
        from gitsecure.scan.rules import builtin_rules

        return builtin_rules()
    except ImportError:
        return FALLBACK_RULES


ENGINE = Engine(_rules(), settings=ScanSettings(decode_depth=2))


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point."""
    if not data:
        return
    selector, payload = data[0], data[1:]
    path = PATHS[selector % len(PATHS)]
    lines = payload.count(b"\n") + 1
    if selector & 0x80:
        numbers = [3 * i + 7 for i in range(lines)]
        fragment = Fragment(payload, path, line_numbers=numbers, commit="c0ffee")
        low, high = 7, numbers[-1]
    else:
        fragment = Fragment(payload, path, first_line=1 + (selector & 0x30))
        low, high = fragment.first_line, fragment.first_line + lines - 1
    findings = ENGINE.scan(fragment)
    keys = [(f.line, f.column, f.rule_id) for f in findings]
    if keys != sorted(keys):
        raise AssertionError("findings are not sorted")
    for finding in findings:
        if not (low <= finding.line <= high and finding.end_line >= finding.line and finding.column >= 1):
            raise AssertionError(f"finding outside the fragment: {finding.line}:{finding.column}")
    identities = [(f.rule_id, f.line, f.column, f.secret_hash, f.tags) for f in findings]
    if len(set(identities)) != len(identities):
        raise AssertionError("a finding was reported twice")


def seeds() -> list[bytes]:
    """Inputs that reach every stage: keywords, PEM blocks, base64 values, pragmas, manifests."""
    token = b"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"
    pem = b"-----BEGIN RSA PRIVATE KEY-----\n" + b"MIIEpAIBAAKCAQEA75dd0Kx0UuN0Gz6mkhHn0A4LULJKoZzh3dDpZVuWZQ5w\n" * 3
    pem += b"-----END RSA PRIVATE KEY-----\n"
    return [
        b"\x01token = '" + token + b"'\npassword = 'Zx81kLmQ0pWb7Rt'  # pragma: allowlist secret\n",
        b"\x81# pragma: allowlist nextline secret\napi_key: " + token + b"\n" + pem,
        b"\x00apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: WnBxUjd0WTJ3OWtMbU5iVg==\n"
        b"stringData:\n  token: '{{ .Values.token }}'\n  k: ENC[AES256_GCM,data:abc=,iv:x,tag:y,type:str]\n",
        b'\x02{"auths": {"r.io": {"auth": "dXNlcjpaeDgxa0xtUTBwV2I3UnQ="}}}',
        b"\x05env: dG9rZW49Z2hwX3pRV0J1VFNPb1JpNEE5c3BIY1ZZNW5jbnNEa3hrSjBtTHExNw==\n",
    ]


def main() -> None:
    """Start libFuzzer with the seeds above (see ``harness.run``)."""
    harness.run(test_one_input, seeds=seeds, name="scan")


if __name__ == "__main__":
    main()
