"""The engine's pipeline on small hand-written rules (the built-in tables have their own test)."""

from __future__ import annotations

import base64

import pytest

from gitsecure.crypto.digest import secret_digest
from gitsecure.scan.engine import Engine
from gitsecure.scan.finding import Fragment
from gitsecure.scan.rule import Rule
from gitsecure.scan.settings import Allowlist, ScanSettings

GHP = "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"  # valid CRC32 suffix (the format's published example)
GHP_BAD = GHP[:-1] + "8"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "MIIEpAIBAAKCAQEA75dd0Kx0UuN0Gz6mkhHn0A4LULJKoZzh3dDpZVuWZQ5wNAVc\n" * 40
    + "-----END RSA PRIVATE KEY-----\n"
)
RULES = (
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
    ),
)


def scan(text: str | bytes, *, path: str = "app.py", rules: tuple[Rule, ...] = RULES, **settings: object) -> list:
    options = {"gitops": False, **settings}
    engine = Engine(rules, settings=ScanSettings(**options))  # type: ignore[arg-type]
    data = text.encode() if isinstance(text, str) else text
    return engine.scan(Fragment(data, path))


def test_finding_carries_position_hash_and_rule_fields() -> None:
    rule = Rule("github-pat", "GitHub PAT", r"\b(ghp_[A-Za-z0-9]{36})\b", keywords=("ghp_",), hint="rotate it")
    [finding] = scan(f"a = 1\n  t = '{GHP}'\n", rules=(rule,))
    assert (finding.rule_id, finding.line, finding.column, finding.end_line) == ("github-pat", 2, 8, 2)
    assert finding.secret == GHP
    assert finding.secret_hash == secret_digest(GHP)
    assert finding.secret_type == "GitHub PAT"
    assert finding.hint == "rotate it"


def test_checksum_failure_drops_the_candidate() -> None:
    assert [f.rule_id for f in scan(f"x = '{GHP}'\ny = '{GHP_BAD}'\n")] == ["github-pat"]


def test_generic_finding_overlapping_a_specific_one_is_dropped() -> None:
    findings = scan(f"token = '{GHP}'\n")
    assert [f.rule_id for f in findings] == ["github-pat"]


def test_two_generic_rules_on_one_value_report_it_once() -> None:
    second = Rule(
        "generic-password", "Generic password", r"(?i)password\s*[:=]\s*([\w=+/]{10,})", keywords=("password",)
    )
    findings = scan("password: Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5\n", rules=(RULES[2], second))
    assert [f.rule_id for f in findings] == ["generic-api-key"]
    # Different values on one line are still two findings.
    findings = scan("password: Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5 password=Q2hhbmdlZFZhbHVlMTIz\n", rules=(RULES[2], second))
    assert len(findings) == 2


def test_generic_rule_needs_entropy_strictly_above_threshold() -> None:
    assert scan("password = 'aaaaaaaaaaaa'\n") == []
    assert [f.secret for f in scan("password = 'Zx81kLmQ0pWb7Rt'\n")] == ["Zx81kLmQ0pWb7Rt"]


def test_entropy_override_from_settings() -> None:
    assert scan("password = 'Zx81kLmQ0pWb7Rt'\n", entropy={"generic-api-key": 7.5}) == []


def test_multiline_private_key_spans_lines() -> None:
    [finding] = scan("# key\n" + PEM)
    assert (finding.rule_id, finding.line, finding.end_line) == ("private-key", 2, 43)


@pytest.mark.parametrize(
    "value",
    ["{{ .Values.apiKey }}", "${API_TOKEN_VALUE}", "${{ secrets.API_TOKEN }}", "ENC[AES256_GCM,data:abc,iv:x,tag:y]"],
)
def test_templated_and_sops_values_are_not_findings(value: str) -> None:
    assert scan(f'api_key: "{value}"\n', path="values.yaml") == []


@pytest.mark.parametrize("value", ["changeme_changeme", "your_api_key_here", "xxxxxxxxxxxxxxxx", "abcdefghijklmnop"])
def test_placeholders_are_not_generic_findings(value: str) -> None:
    assert scan(f"password = '{value}'\n") == []


@pytest.mark.parametrize(
    "line",
    [
        f"t = '{GHP}'  # gitsecure:allow",
        f"t = '{GHP}'  // gitleaks:allow",
        f"t = '{GHP}'  # trufflehog:ignore",
        f"t = '{GHP}'  # pragma: allowlist secret",
    ],
)
def test_inline_suppression(line: str) -> None:
    assert scan(line + "\n") == []
    assert len(scan(line + "\n", inline_suppression=False)) == 1


def test_nextline_pragma_suppresses_only_the_next_line() -> None:
    text = f"# pragma: allowlist nextline secret\nt = '{GHP}'\nu = '{GHP}'\n"
    assert [f.line for f in scan(text)] == [3]


def test_nextline_pragma_needs_consecutive_file_lines_in_a_hunk() -> None:
    data = f"# pragma: allowlist nextline secret\nt = '{GHP}'\n".encode()
    engine = Engine(RULES, settings=ScanSettings(gitops=False))
    assert engine.scan(Fragment(data, "a.py", line_numbers=[10, 11])) == []
    [finding] = engine.scan(Fragment(data, "a.py", line_numbers=[10, 20]))
    assert finding.line == 20


def test_hunk_line_numbers_and_commit() -> None:
    engine = Engine(RULES, settings=ScanSettings(gitops=False))
    [finding] = engine.scan(Fragment(f"x\ny = '{GHP}'\n".encode(), "a.py", line_numbers=[7, 42], commit="abc"))
    assert (finding.line, finding.commit) == (42, "abc")


def test_decoded_findings_map_back_to_their_own_encoded_value() -> None:
    plain = [b"nothing secret in here at all", f"token={GHP}".encode(), b"still nothing secret here"]
    lines = [f"v{i}: {base64.b64encode(value).decode()}" for i, value in enumerate(plain)]
    [finding] = scan("\n".join(lines) + "\n", rules=RULES[:1])
    assert (finding.line, finding.column) == (2, 5)
    assert finding.secret == GHP and "decoded:base64" in finding.tags


def test_base64_value_is_decoded_and_rescanned() -> None:
    encoded = base64.b64encode(f"token={GHP}".encode()).decode()
    [finding] = scan(f"x = 1\nenv: {encoded}\n")
    assert (finding.rule_id, finding.line, finding.column, finding.secret) == ("github-pat", 2, 6, GHP)
    assert "decoded:base64" in finding.tags
    assert scan(f"x = 1\nenv: {encoded}\n", decode_depth=0) == []


def test_global_path_allowlist_defaults_and_extension() -> None:
    engine = Engine(RULES, settings=ScanSettings(allow_paths=(r"(^|/)fixtures/",)))
    assert not engine.path_allowed("web/package-lock.json")
    assert not engine.path_allowed("vendor/github.com/x/y.go")
    assert not engine.path_allowed("static/app.min.js")
    assert not engine.path_allowed("tests/fixtures/keys.txt")
    assert engine.path_allowed("src/app.py")
    assert engine.scan(Fragment(f"t = '{GHP}'".encode(), "yarn.lock")) == []


def test_allowlists_values_stopwords_and_rule_scoped_lists() -> None:
    assert scan(f"t = '{GHP}'\n", allow_values=(r"^ghp_zQWB",)) == []
    assert scan("password = 'Zx81kLmQ0pWb7Rt'\n", stopwords=("lmq0",)) == []
    scoped = Allowlist(regexes=(r"password",), regex_target="line", target_rules=("generic-api-key",))
    assert scan(f"password = 'Zx81kLmQ0pWb7Rt' {GHP}\n", allowlists=(scoped,))[0].rule_id == "github-pat"


def test_disabled_rules_are_not_run() -> None:
    assert [f.rule_id for f in scan(f"token = '{GHP}'\n", disabled_rules=frozenset({"github-pat"}))] == [
        "generic-api-key"
    ]


def test_rule_without_keywords_runs_everywhere_and_path_rules_apply_only_to_their_paths() -> None:
    rule = Rule("acme", "ACME", r"acme_[0-9]{8}", path=r"\.env$")
    assert [f.rule_id for f in scan("X=acme_12345678\n", path="prod.env", rules=(rule,))] == ["acme"]
    assert scan("X=acme_12345678\n", path="prod.py", rules=(rule,)) == []


def test_findings_sorted_and_never_duplicated() -> None:
    # Many keyword hits close together make overlapping windows; each secret is still reported once.
    text = "".join(f"key key token secret t{i} = '{GHP}' key\n" for i in range(30))
    findings = scan(text)
    assert [f.line for f in findings] == list(range(1, 31))
    assert all(f.rule_id == "github-pat" for f in findings)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff\xfe" * 10000,
        b"\xc3\x28 token = '\xff\xfeZx81kLmQ0pWb7Rt'\n",
        b"key=" + b"a" * 2_000_000,
        b"var a='x';" * 100_000 + b"token='" + GHP.encode() + b"'",
        b"\n" * 100_000,
        b"",
    ],
)
def test_never_raises_on_odd_input(data: bytes) -> None:
    findings = scan(data)
    assert all(f.line >= 1 and f.column >= 1 for f in findings)


def test_secret_on_a_huge_minified_line_is_found() -> None:
    findings = scan(b"var a='x';" * 100_000 + b"token='" + GHP.encode() + b"'")
    assert [f.rule_id for f in findings] == ["github-pat"]
    assert findings[0].column == 1_000_008


def test_structural_rules_are_not_run_as_regexes() -> None:
    structural = Rule("kubernetes-secret", "Secret", "", tags=("structural",))
    assert Engine((*RULES, structural)).rules == RULES


@pytest.mark.parametrize("path", ["pull.dockerconfigjson", "legacy.dockercfg", "deploy/app.yaml"])
def test_gitops_analysis_runs_for_docker_config_paths(path: str) -> None:
    auth = base64.b64encode(b"deploy:Zx8qLm2Vr7TkPw4N").decode()
    if path.endswith(".yaml"):
        data = (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: pull}\ntype: kubernetes.io/dockerconfigjson\n"
            f'stringData:\n  .dockerconfigjson: \'{{"auths": {{"ghcr.io": {{"auth": "{auth}"}}}}}}\'\n'
        )
    else:
        data = f'{{"auths": {{"ghcr.io": {{"auth": "{auth}"}}}}}}\n'
    findings = Engine((), settings=ScanSettings()).scan(Fragment(data.encode(), path))
    assert [f.rule_id for f in findings] == ["dockerconfigjson-auth"]
    assert findings[0].secret == "Zx8qLm2Vr7TkPw4N"
