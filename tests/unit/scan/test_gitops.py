"""The GitOps analyzer: structural findings, quiet lines, and hostile input."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitsecure.crypto.digest import secret_digest
from gitsecure.scan.finding import Finding
from gitsecure.scan.gitops import GITOPS_RULES, MAX_STRUCTURAL_BYTES, GitopsResult, analyze, applies_to

FIXTURES = Path(__file__).parents[2] / "fixtures" / "scan" / "gitops"
# Built at run time so no token-shaped literal sits in the repository.
GITHUB_TOKEN = "ghp_" + "Zr2vLx9pWm4Tn7Qa1Bc2De3Fg4Hi5Jk6Lm7"


def no_rescan(_: bytes) -> list[Finding]:
    return []


def fake_rescan(data: bytes) -> list[Finding]:
    """Stands in for the engine: recognises the GitHub token marker anywhere in a value."""
    start = data.find(b"ghp_")
    if start < 0:
        return []
    token = data[start : start + 40].decode()
    return [
        Finding(
            rule_id="github-pat",
            description="GitHub personal access token",
            path="",
            line=1,
            column=start + 1,
            secret=token,
            secret_hash=secret_digest(token),
            secret_type="GitHub Token",
            hint="Revoke it on GitHub.",
            tags=("vcs",),
        )
    ]


def run(name: str, rescan=no_rescan) -> GitopsResult:
    data = (FIXTURES / name).read_bytes()
    assert applies_to(name, data)
    return analyze(data, name, rescan=rescan)


def summary(result: GitopsResult) -> list[tuple[str, int, str]]:
    return [(f.rule_id, f.line, f.secret) for f in result.findings]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def b64_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the rule records ---------------------------------------------------------------------------------------


def test_rules_are_structural_placeholders_with_hints() -> None:
    ids = [rule.id for rule in GITOPS_RULES]
    assert len(ids) == len(set(ids)) == 7
    for rule in GITOPS_RULES:
        assert rule.regex == "" and rule.keywords == ()
        assert rule.tags[0] == "structural"
        assert rule.hint and rule.description and rule.baseline_type == rule.description


# --- Kubernetes Secrets ---------------------------------------------------------------------------------------


def test_secret_data_and_stringdata_in_multidoc() -> None:
    result = run("secrets-multidoc.yaml")
    assert [(f.rule_id, f.line) for f in result.findings] == [
        ("kubernetes-secret-data", 17),
        ("kubernetes-secret-stringdata", 21),
        ("kubernetes-secret-data", 34),
    ]
    assert [f.secret for f in result.findings[:2]] == ["Tr0ub4dor&3-horse", "q8Zr2vLx9pWm4Tn7"]
    password = result.findings[0]
    assert password.description.endswith('Secret default/db-creds key "password"')
    assert password.secret_hash == secret_digest("Tr0ub4dor&3-horse")
    assert password.secret_type == password.description.split(":")[0]
    assert password.column == 13
    assert "kubernetes-secret" in password.tags and "default/db-creds" in password.tags
    assert "gitsecure seal -o yaml -f secrets-multidoc.yaml -w secrets-multidoc.sealed.yaml" in (password.hint or "")
    # The TLS key is reported; the certificate beside it and the username are not.
    assert result.findings[2].secret.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert {f.line for f in result.findings}.isdisjoint({16, 33})
    # Every data/stringData line is judged here, so the regex pass stays silent on all of them.
    assert set(range(15, 25)) | {32, 33, 34} <= result.quiet_lines
    assert 7 not in result.quiet_lines  # the ConfigMap is none of our business


def test_secret_all_templated_or_empty_is_clean() -> None:
    data = b"""apiVersion: v1
kind: Secret
metadata: {name: t}
data:
  a: "{{ .Values.password | b64enc }}"
  b: ""
  c:
stringData:
  d: ${DB_PASSWORD}
  e: ${{ secrets.DB_PASSWORD }}
  f: "{{ password }}"
  g: ENC[AES256_GCM,data:abcd,iv:efgh,tag:ijkl,type:str]
  h: <path:secret/data/db#password>
"""
    assert analyze(data, "s.yaml", rescan=no_rescan).findings == []


def test_secret_base64_of_github_token_is_reported_as_the_provider_finding() -> None:
    data = f"""apiVersion: v1
kind: Secret
metadata:
  name: ci
  namespace: build
data:
  GITHUB_TOKEN: {b64(GITHUB_TOKEN + chr(10))}
  other: {b64("plain-Value-42x")}
""".encode()
    result = analyze(data, "ci.yaml", rescan=fake_rescan)
    token, other = result.findings
    assert (token.rule_id, token.line, token.secret) == ("github-pat", 7, GITHUB_TOKEN)
    assert token.secret_type == "GitHub Token"
    assert token.description == 'GitHub personal access token in Secret build/ci key "GITHUB_TOKEN"'
    assert "kubernetes-secret" in token.tags and "build/ci" in token.tags and "vcs" in token.tags
    assert token.hint is not None and token.hint.startswith("Revoke it on GitHub.") and "gitsecure seal" in token.hint
    assert (other.rule_id, other.line) == ("kubernetes-secret-data", 8)


def test_stringdata_values_are_rescanned_too() -> None:
    data = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: x}}\nstringData:\n  token: {GITHUB_TOKEN}\n".encode()
    (finding,) = analyze(data, "x.yaml", rescan=fake_rescan).findings
    assert (finding.rule_id, finding.line) == ("github-pat", 5)


def test_secret_value_not_base64_is_reported_as_written() -> None:
    data = b"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata:\n  password: not base64 at all!\n"
    (finding,) = analyze(data, "x.yaml", rescan=no_rescan).findings
    assert finding.secret == "not base64 at all!"
    assert "not valid base64" in finding.description


def test_secret_binary_value_gets_a_stable_escaped_secret() -> None:
    raw = b"\x00\xff\xfe-binary-\x80"
    data = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: x}}\ndata:\n  blob: {b64_bytes(raw)}\n".encode()
    (finding,) = analyze(data, "x.yaml", rescan=no_rescan).findings
    assert finding.secret == "\\x00\\xff\\xfe-binary-\\x80"
    assert finding.secret_hash == secret_digest(finding.secret)


def test_secret_block_scalar_base64_with_newlines() -> None:
    encoded = b64("a-long-private-value-" * 4)
    folded = "\n    ".join(encoded[i : i + 40] for i in range(0, len(encoded), 40))
    data = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  value: |\n    {folded}\nfoo: bar\n".encode()
    result = analyze(data, "x.yaml", rescan=no_rescan)
    (finding,) = result.findings
    assert finding.line == 6 and finding.secret == "a-long-private-value-" * 4
    assert {6, 7, 8} <= result.quiet_lines and 10 not in result.quiet_lines


def test_dockerconfigjson_secret() -> None:
    result = run("dockerconfigjson-secret.yaml")
    assert summary(result) == [
        ("dockerconfigjson-auth", 8, "Qa1Bc2De3Fg4Hi5Jk6Lm"),
        ("dockerconfigjson-auth", 8, "Lm7No8Pq9Rs0Tu1Vw"),
    ]
    assert 'registry "ghcr.io" field "auth"' in result.findings[0].description
    assert "gitsecure seal" in (result.findings[0].hint or "")
    assert 8 in result.quiet_lines


def test_docker_config_file_with_tabs() -> None:
    result = run("home/.docker/config.json")
    assert summary(result) == [
        ("dockerconfigjson-auth", 4, "Qa1Bc2De3Fg4Hi5Jk6Lm"),
        ("dockerconfigjson-auth", 7, "Xy9Zr2vLx9pWm4Tn7Qa1"),
    ]
    assert "credHelpers" not in " ".join(f.description for f in result.findings)


def test_kind_list_in_json() -> None:
    result = run("list.json")
    assert summary(result) == [("kubernetes-secret-data", 23, "Ls7Tk6Val5Ue4")]
    assert "apps/listed" in result.findings[0].description


# --- never a finding ------------------------------------------------------------------------------------------


def test_sealedsecret_with_password_key_is_quiet() -> None:
    result = run("sealedsecret.yaml")
    assert result.findings == []
    assert set(range(1, 15)) <= result.quiet_lines  # encryptedData.password is line 8


def test_sops_file_is_quiet() -> None:
    result = run("sops-secret.yaml")
    assert result.findings == []
    assert {7, 8} <= result.quiet_lines  # the ENC[...] values
    assert set(range(9, 21)) <= result.quiet_lines  # the sops metadata, age block included


def test_sops_values_quiet_even_without_structure() -> None:
    data = b"not: [valid yaml\npassword: ENC[AES256_GCM,data:abcd,iv:efgh,tag:ijkl,type:str]\n"
    result = analyze(data, "x.yaml", rescan=no_rescan)
    assert result.findings == [] and result.quiet_lines == frozenset({2})


def test_external_secret_family_is_quiet() -> None:
    result = run("externalsecret.yaml")
    assert result.findings == []
    assert {14, 15, 16, 29} <= result.quiet_lines


def test_sops_secret_kind_is_quiet() -> None:
    data = (
        b"apiVersion: isindir.github.com/v1alpha3\nkind: SopsSecret\nmetadata: {name: x}\nspec:\n"
        b"  secretTemplates:\n  - name: x\n    stringData:\n      password: hunter2-Literal\n"
    )
    result = analyze(data, "x.yaml", rescan=no_rescan)
    assert result.findings == [] and 8 in result.quiet_lines


def test_helm_template_is_quiet_and_not_parsed() -> None:
    result = run("chart/templates/secret.yaml")
    assert result.findings == []
    assert result.quiet_lines == frozenset({4, 7})


# --- kubeconfig -----------------------------------------------------------------------------------------------


def test_kubeconfig() -> None:
    result = run("kubeconfig.yaml")
    assert [(f.rule_id, f.line) for f in result.findings] == [
        ("kubeconfig-client-key", 18),
        ("kubeconfig-token", 21),
        ("kubeconfig-token", 33),
        ("kubeconfig-token", 38),
    ]
    assert result.findings[0].secret.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert result.findings[1].secret == "q8Zr2vLx9pWm4Tn7Qa1Bc2De3Fg4Hi5Jk"
    assert 'user "oidc" auth-provider "client-secret"' in result.findings[2].description
    assert not {25, 26, 27} & {f.line for f in result.findings}  # client-key / tokenFile are paths


@pytest.mark.parametrize("path", [".kube/config", "home/me/.kube/config", "prod.kubeconfig", "kubeconfig"])
def test_kubeconfig_paths_apply(path: str) -> None:
    assert applies_to(path, b"apiVersion: v1\n")


# --- Helm values ----------------------------------------------------------------------------------------------


def test_helm_values() -> None:
    result = run("chart/values.yaml")
    assert summary(result) == [
        ("helm-values-password", 3, "Hx7Kp2Wq9Lm4"),
        ("helm-values-password", 13, "Zr2vLx9pWm4Tn7Qa1Bc2"),
        ("helm-values-password", 18, "Bc2De3Fg4Hi5Jk6L"),
        ("helm-values-password", 23, "Pq9Rs0Tu1Vw2Xy"),
    ]
    assert result.findings[0].description.endswith('Helm value "auth.adminPassword"')
    assert "existingSecret" in (result.findings[0].hint or "")
    # existingSecret, *SecretName, *PasswordKey, templated, changeme, accessKey, TTL, paths, valueFrom: silent.
    assert {f.line for f in result.findings}.isdisjoint({4, 5, 6, 7, 8, 12, 15, 19, 20, 26, 33})


@pytest.mark.parametrize("path", ["values.yaml", "charts/db/values-prod.yml", "env/prod.values.yaml", "values/x.yaml"])
def test_helm_values_paths(path: str) -> None:
    data = b"db:\n  password: Kq8Lr2Mn7Pw3\n"
    assert applies_to(path, data)
    assert [f.line for f in analyze(data, path, rescan=no_rescan).findings] == [2]


def test_password_outside_values_files_is_left_to_the_regex_rules() -> None:
    data = b"db:\n  password: Kq8Lr2Mn7Pw3\n"
    assert not applies_to("config/app.yaml", data)
    assert analyze(data, "config/app.yaml", rescan=no_rescan).findings == []


def test_helm_values_rescan_names_the_provider() -> None:
    data = f"github:\n  token: {GITHUB_TOKEN}\n".encode()
    (finding,) = analyze(data, "values.yaml", rescan=fake_rescan).findings
    assert finding.rule_id == "github-pat" and 'Helm value "github.token"' in finding.description


# --- Terraform state ------------------------------------------------------------------------------------------


def test_terraform_state() -> None:
    result = run("terraform.tfstate")
    assert summary(result) == [
        ("terraform-state-secret", 8, "Out9Pw8Secret7"),
        ("terraform-state-secret", 28, "Db5Pw4Lit3ral2"),
        ("terraform-state-secret", 55, "Rnd3Res2Ult1Val0"),
        ("terraform-state-secret", 79, "Az1Stor2Key3Abc4Def5"),
    ]
    assert 'aws_db_instance.main attribute "password"' in result.findings[1].description
    # the password is both sensitive and credential-named: reported once
    assert len({f.secret for f in result.findings}) == len(result.findings)


def test_terraform_state_v3_flat_attributes() -> None:
    state = {
        "version": 3,
        "terraform_version": "0.11.14",
        "serial": 1,
        "modules": [{"resources": {"aws_db_instance.db": {"primary": {"attributes": {"password": "Old3State2Pw"}}}}}],
    }
    data = json.dumps(state, indent=2).encode()
    (finding,) = analyze(data, "terraform.tfstate.backup", rescan=no_rescan).findings
    assert finding.secret == "Old3State2Pw" and finding.line == 11


# --- applies_to and hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("k8s/secret.yaml", b"kind: Secret\n", True),
        ("k8s/deploy.yaml", b"kind: Deployment\n", False),
        ("main.go", b"kind: Secret\n", False),
        ("-", b"kind: Secret\n", True),
        ("x/terraform.tfstate", b"{}", True),
        ("x/.docker/config.json", b"{}", True),
        ("x.yaml", b"", False),
    ],
)
def test_applies_to(path: str, data: bytes, expected: bool) -> None:
    assert applies_to(path, data) is expected


@pytest.mark.parametrize(
    "data",
    [
        b"kind: Secret\ndata: [unclosed\n",
        b"\xff\xfe\x00kind: Secret\x00\x01",
        b"kind: Secret\n" + b"[" * 100_000,
        b"kind: Secret\n" + b"- " * 100_000 + b"x\n",
        b"kind: Secret\n\tdata: x\n",
        b'{"kind": "Secret", "data": {"a": "\\ud800"}, }',
        b"kind: Secret\ndata: &a [*a]\n",
        b"kind: Secret\napiVersion: v1\nmetadata: {name: x}\ndata: {a: !!binary AAAA, b: 12, c: true, d: [x]}\n",
    ],
)
def test_hostile_or_invalid_input_never_raises(data: bytes) -> None:
    result = analyze(data, "x.yaml", rescan=no_rescan)
    assert result.findings == []


def test_billion_laughs_is_not_expanded() -> None:
    lines = ["apiVersion: v1", "kind: Secret", "metadata: {name: lol}", "x0: &x0 [lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 9) + "]" for i in range(1, 12)]
    lines += ["stringData:", "  password: Kq8Lr2Mn7Pw3"]
    result = analyze("\n".join(lines).encode(), "x.yaml", rescan=no_rescan)
    assert [f.line for f in result.findings] == [17]


def test_recursive_anchor_in_kind_list_terminates() -> None:
    data = b"apiVersion: v1\nkind: List\nitems: &items\n- kind: List\n  items: *items\n"
    assert analyze(data, "x.yaml", rescan=no_rescan).findings == []


def test_oversized_file_gets_no_structural_analysis(caplog: pytest.LogCaptureFixture) -> None:
    secret = b"apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n  password: Kq8Lr2Mn7Pw3\n"
    data = secret + b"#" * MAX_STRUCTURAL_BYTES
    caplog.set_level("INFO", logger="gitsecure.scan.gitops")
    assert analyze(data, "big.yaml", rescan=no_rescan).findings == []
    assert "structural checks skipped" in caplog.text
    assert "Kq8Lr2Mn7Pw3" not in caplog.text


def test_one_broken_document_leaves_the_others() -> None:
    data = (
        b"kind: Secret\ndata: [oops\n---\n"
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\nstringData:\n  k: Kq8Lr2Mn7Pw3\n"
    )
    assert [f.line for f in analyze(data, "x.yaml", rescan=no_rescan).findings] == [8]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([b"kind: Secret\n", b'{"auths": ', b"users:\n", b"- "]))
def test_arbitrary_bytes_never_raise(tail: bytes, head: bytes) -> None:
    result = analyze(head + tail, "values.yaml", rescan=fake_rescan)
    assert all(f.line >= 1 for f in result.findings)


def test_windows_line_endings_keep_line_numbers() -> None:
    data = b"apiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: x\r\nstringData:\r\n  k: Kq8Lr2Mn7Pw3\r\n"
    assert [f.line for f in analyze(data, "x.yaml", rescan=no_rescan).findings] == [6]
