"""``gitsecure seal`` run as a subprocess, the way users and scripts run it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitsecure.crypto import hybrid
from gitsecure.crypto.keys import KeyPair, dump_certificate, dump_private_key, self_signed_certificate
from tests.conftest import KUBESEAL, NOW, KeyFiles, Runner

SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: hunter2-plaintext
data:
  token: dG9rZW4tcGxhaW50ZXh0
"""


def sealed_json(out: str) -> list[dict[str, Any]]:
    decoder, pos, objects = json.JSONDecoder(), 0, []
    while pos < len(out.rstrip()):
        obj, pos = decoder.raw_decode(out, pos)
        objects.append(obj)
        while pos < len(out) and out[pos].isspace():
            pos += 1
    return objects


def open_item(pair: KeyPair, value: str, label: bytes) -> bytes:
    return hybrid.unseal([pair.private_key], base64.b64decode(value), label=label)


def assert_one_line_error(stderr: str, fragment: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert fragment in errors[0], stderr


def test_seal_with_cert_file(gitsecure: Runner, key_files: KeyFiles, small_pair: KeyPair) -> None:
    result = gitsecure("seal", "--cert", str(key_files.cert), input=SECRET)
    assert result.returncode == 0, result.stderr
    [sealed] = sealed_json(result.stdout)
    assert sealed["kind"] == "SealedSecret"
    assert open_item(small_pair, sealed["spec"]["encryptedData"]["password"], b"shop/db") == b"hunter2-plaintext"
    assert open_item(small_pair, sealed["spec"]["encryptedData"]["token"], b"shop/db") == b"token-plaintext"
    assert "plaintext" not in result.stdout + result.stderr


def test_reference_certificate_seals_values_the_reference_key_opens(gitsecure: Runner, reference_key: Any) -> None:
    for scope, label in (("strict", b"shop/db"), ("namespace-wide", b"shop"), ("cluster-wide", b"")):
        result = gitsecure("seal", "--cert", str(KUBESEAL / "tls.crt"), "--scope", scope, "-o", "yaml", input=SECRET)
        assert result.returncode == 0, result.stderr
        sealed = yaml.safe_load(result.stdout.removeprefix("---\n"))
        value = base64.b64decode(sealed["spec"]["encryptedData"]["password"])
        assert hybrid.unseal([reference_key], value, label=label) == b"hunter2-plaintext"


def test_multiple_documents_in_and_out(gitsecure: Runner, key_files: KeyFiles) -> None:
    two = SECRET + "---\n" + SECRET.replace("name: db", "name: cache")
    result = gitsecure("seal", "--cert", str(key_files.cert), "-o", "yaml", input=two)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("---\n") == 2
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(result.stdout)]
    assert names == ["db", "cache"]
    as_json = json.dumps(yaml.safe_load(SECRET)) + json.dumps(yaml.safe_load(SECRET.replace("name: db", "name: c2")))
    result = gitsecure("seal", "--cert", str(key_files.cert), input=as_json)
    assert [o["metadata"]["name"] for o in sealed_json(result.stdout)] == ["db", "c2"]


def test_output_file_is_written_and_yaml_extension_forces_yaml(
    gitsecure: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "sealed.yaml"
    result = gitsecure("seal", "--cert", str(key_files.cert), "-w", str(out), input=SECRET)
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text().startswith("---\napiVersion: bitnami.com/v1alpha1\n")


def test_failed_run_leaves_no_output_file_and_keeps_an_existing_one(
    gitsecure: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    out = tmp_path / "new.json"
    bad = SECRET + "---\nkind: Secret\nmetadata: {name: x}\ndata: {k: '***'}\n"
    result = gitsecure("seal", "--cert", str(key_files.cert), "-w", str(out), input=bad)
    assert result.returncode == 2
    assert not out.exists()
    existing = tmp_path / "existing.json"
    existing.write_text("previous content")
    result = gitsecure("seal", "--cert", str(key_files.cert), "-w", str(existing), input=bad)
    assert result.returncode == 2
    assert existing.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_name_and_namespace_flags(gitsecure: Runner, key_files: KeyFiles, small_pair: KeyPair) -> None:
    no_ns = "kind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n"
    result = gitsecure("seal", "--cert", str(key_files.cert), "-n", "team", "--name", "renamed", input=no_ns)
    [sealed] = sealed_json(result.stdout)
    assert sealed["metadata"] == {"name": "renamed", "namespace": "team"}
    assert open_item(small_pair, sealed["spec"]["encryptedData"]["k"], b"team/renamed") == b"v"


def test_namespace_comes_from_the_kubeconfig_context(gitsecure: Runner, key_files: KeyFiles, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts:\n- name: c\n  context: {cluster: x, namespace: ctx-ns}\n"
    )
    no_ns = "kind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n"
    result = gitsecure("seal", "--cert", str(key_files.cert), "--kubeconfig", str(kubeconfig), input=no_ns)
    assert sealed_json(result.stdout)[0]["metadata"]["namespace"] == "ctx-ns"
    result = gitsecure("seal", "--cert", str(key_files.cert), input=no_ns, env={"KUBECONFIG": str(kubeconfig)})
    assert sealed_json(result.stdout)[0]["metadata"]["namespace"] == "ctx-ns"
    result = gitsecure("seal", "--cert", str(key_files.cert), input=no_ns)
    assert sealed_json(result.stdout)[0]["metadata"]["namespace"] == "default"


def test_environment_variables_set_flags(gitsecure: Runner, key_files: KeyFiles) -> None:
    result = gitsecure(
        "seal", input=SECRET, env={"SEALED_SECRETS_CERT": str(key_files.cert), "GITSECURE_SCOPE": "cluster-wide"}
    )
    assert result.returncode == 0, result.stderr
    assert sealed_json(result.stdout)[0]["metadata"]["annotations"] == {
        "sealedsecrets.bitnami.com/cluster-wide": "true"
    }
    # An explicit flag wins over the environment.
    result = gitsecure("seal", "--scope", "strict", input=SECRET, env={"GITSECURE_CERT": str(key_files.cert)})
    assert "annotations" not in sealed_json(result.stdout)[0]["metadata"]


def test_raw_mode(gitsecure: Runner, key_files: KeyFiles, small_pair: KeyPair, tmp_path: Path) -> None:
    result = gitsecure("seal", "--raw", "--cert", str(key_files.cert), "-n", "ns", "--name", "n", input=b"value\n")
    assert result.returncode == 0 and "\n" not in result.stdout
    assert open_item(small_pair, result.stdout, b"ns/n") == b"value\n"  # stdin byte for byte, newline included
    value_file = tmp_path / "v.bin"
    value_file.write_bytes(b"\x00from-file")
    result = gitsecure(
        "seal",
        "--raw",
        "--cert",
        str(key_files.cert),
        "--scope",
        "namespace-wide",
        "-n",
        "ns",
        "--from-file",
        f"k={value_file}",
    )
    assert open_item(small_pair, result.stdout, b"ns") == b"\x00from-file"
    result = gitsecure("seal", "--raw", "--cert", str(key_files.cert), "--scope", "cluster-wide", input=b"x")
    assert open_item(small_pair, result.stdout, b"") == b"x"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--raw", "-n", "ns"], "v", "must provide the --name flag with --raw and --scope strict"),
        (["--raw", "--scope", "namespace-wide", "-n", ""], "v", "must provide the --namespace flag with --raw"),
        (["--raw", "-n", "ns", "--name", "n", "--from-file", "a", "--from-file", "b"], "", "only one --from-file"),
        (["--from-file", "x"], "", "--from-file requires --raw"),
        (["--scope", "galaxy-wide"], SECRET, "must be one of: strict, namespace-wide, cluster-wide"),
        (["-o", "xml"], SECRET, "unsupported output format: xml"),
        ([], "not: [valid", "not valid YAML or JSON"),
        ([], '{"kind": "Secret"', "not valid JSON"),
        ([], "", "no secrets found"),
        ([], "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n", "is a ConfigMap, not a Secret"),
        ([], "kind: Secret\nmetadata: {namespace: a}\nstringData: {k: v}\n", "missing metadata.name"),
        ([], "kind: Secret\nmetadata: {name: a, namespace: b}\n", "secret.data is empty"),
        ([], "kind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: 'no base64!'}\n", "illegal base64 data"),
        (["-n", "other"], SECRET, 'namespace mismatch: input secret is in namespace "shop" but "other" was specified'),
        (["-n", ""], "kind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n", "secret must declare a namespace"),
        (["--no-such-flag"], SECRET, "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    gitsecure: Runner, key_files: KeyFiles, args: list[str], stdin: str, message: str
) -> None:
    result = gitsecure("seal", "--cert", str(key_files.cert), *args, input=stdin)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, message)
    assert result.stdout == ""


def test_allow_empty_data(gitsecure: Runner, key_files: KeyFiles) -> None:
    result = gitsecure(
        "seal",
        "--cert",
        str(key_files.cert),
        "--allow-empty-data",
        input="kind: Secret\nmetadata: {name: a, namespace: b}\n",
    )
    assert result.returncode == 0
    assert sealed_json(result.stdout)[0]["spec"]["encryptedData"] == {}


def test_certificate_problems(gitsecure: Runner, small_pair: KeyPair, tmp_path: Path) -> None:
    expired = tmp_path / "expired.pem"
    old = self_signed_certificate(small_pair.private_key, now=NOW - dt.timedelta(days=400), ttl=dt.timedelta(days=10))
    expired.write_bytes(dump_certificate(old))
    result = gitsecure("seal", "--cert", str(expired), input=SECRET)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "failed to encrypt using an expired certificate on")
    not_a_cert = tmp_path / "key.pem"
    not_a_cert.write_bytes(dump_private_key(small_pair.private_key))
    result = gitsecure("seal", "--cert", str(not_a_cert), input=SECRET)
    assert_one_line_error(result.stderr, "does not contain any valid RSA or ECDSA certificates")
    result = gitsecure("seal", "--cert", str(tmp_path / "missing.pem"), input=SECRET)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "cannot read certificate")


def test_fetch_cert_from_file_copies_bytes(gitsecure: Runner, key_files: KeyFiles) -> None:
    result = gitsecure("seal", "--fetch-cert", "--cert", f"file://{key_files.cert}")
    assert result.returncode == 0
    assert result.stdout == key_files.cert.read_text()


def test_recovery_unseal_with_pem_and_key_backup(
    gitsecure: Runner, key_files: KeyFiles, other_pair: KeyPair, tmp_path: Path
) -> None:
    sealed = gitsecure("seal", "--cert", str(key_files.cert), input=SECRET).stdout
    result = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(key_files.key), input=sealed)
    assert result.returncode == 0, result.stderr
    secret = json.loads(result.stdout)
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2-plaintext"
    # A `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` backup, listing another key too.
    backup = tmp_path / "backup.yaml"
    items = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"k{i}"},
            "type": "kubernetes.io/tls",
            "data": {"tls.key": base64.b64encode(key).decode()},
        }
        for i, key in enumerate([dump_private_key(other_pair.private_key), key_files.key.read_bytes()])
    ]
    backup.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}))
    other = tmp_path / "other.pem"
    other.write_bytes(dump_private_key(other_pair.private_key, fmt="pkcs8"))
    for keys in ([str(backup)], [f"{other},{key_files.key}"], [str(other), str(key_files.key)]):
        flags = [arg for path in keys for arg in ("--recovery-private-key", path)]
        result = gitsecure("seal", "--recovery-unseal", *flags, "-o", "yaml", input=sealed)
        assert result.returncode == 0, result.stderr
        assert (
            yaml.safe_load(result.stdout.removeprefix("---\n"))["data"]["token"]
            == base64.b64encode(b"token-plaintext").decode()
        )


def test_recovery_unseal_refuses_renamed_copy_and_wrong_key(
    gitsecure: Runner, key_files: KeyFiles, other_pair: KeyPair, tmp_path: Path
) -> None:
    sealed = gitsecure("seal", "--cert", str(key_files.cert), input=SECRET).stdout
    renamed = sealed.replace('"name": "db"', '"name": "db-copy"')
    result = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(key_files.key), input=renamed)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "no key could decrypt secret (password, token)")
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(dump_private_key(other_pair.private_key))
    result = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(wrong), input=sealed)
    assert_one_line_error(result.stderr, "no key could decrypt secret (password, token)")
    result = gitsecure("seal", "--recovery-unseal", input=sealed)
    assert_one_line_error(result.stderr, "no key could decrypt secret (password, token)")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key at all")
    result = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(garbage), input=sealed)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "holds neither a PEM private key nor key Secrets")
    result = gitsecure("seal", "--recovery-unseal", "--recovery-private-key", str(key_files.key), input=SECRET)
    assert_one_line_error(result.stderr, "is not a SealedSecret")
    assert "plaintext" not in result.stdout + result.stderr


def test_merge_into(gitsecure: Runner, key_files: KeyFiles, small_pair: KeyPair, tmp_path: Path) -> None:
    target = tmp_path / "sealed.json"
    target.write_text(gitsecure("seal", "--cert", str(key_files.cert), input=SECRET).stdout)
    addition = (
        "kind: Secret\nmetadata: {name: whatever, namespace: elsewhere}\nstringData: {password: rotated, new: n}\n"
    )
    result = gitsecure("seal", "--cert", str(key_files.cert), "--merge-into", str(target), input=addition)
    assert result.returncode == 0, result.stderr
    merged = json.loads(target.read_text())
    assert sorted(merged["spec"]["encryptedData"]) == ["new", "password", "token"]
    # Name and namespace are forced to the target's, so the new items open under its label.
    assert open_item(small_pair, merged["spec"]["encryptedData"]["password"], b"shop/db") == b"rotated"
    before = target.read_text()
    result = gitsecure(
        "seal",
        "--cert",
        str(key_files.cert),
        "--merge-into",
        str(target),
        input="kind: Secret\nmetadata: {name: x}\ndata: {k: '!!'}\n",
    )
    assert result.returncode == 2
    assert target.read_text() == before
    result = gitsecure(
        "seal", "--cert", str(key_files.cert), "--merge-into", str(tmp_path / "absent.json"), input=SECRET
    )
    assert_one_line_error(result.stderr, "cannot read --merge-into file")


def test_heavy_modules_are_not_imported(tmp_path: Path, key_files: KeyFiles) -> None:
    import subprocess
    import sys

    probe = (
        "import io, sys\n"
        "from gitsecure.cli.main import main\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(sys.argv[2].encode()))\n"
        "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
        "try:\n    rc = main(sys.argv[3:])\nexcept SystemExit as exit:\n    rc = exit.code or 0\n"
        "sys.stdout = real\n"
        "roots = ('kubernetes', 'boto3', 'botocore', 'hvac', 'sigstore', 'kopf')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in roots)\n"
        "print(rc, heavy)\n"
    )
    for args in (["--help"], ["seal", "--help"], ["seal", "--cert", str(key_files.cert)]):
        proc = subprocess.run(
            [sys.executable, "-c", probe, "x", SECRET, *args], capture_output=True, text=True, check=False, cwd=tmp_path
        )
        assert proc.stdout.strip().splitlines()[-1] == "0 []", (args, proc.stdout, proc.stderr)


def test_merge_into_keeps_kubeseal_field_order_and_ignores_w_extension(
    gitsecure: Runner, key_files: KeyFiles, tmp_path: Path
) -> None:
    target = tmp_path / "sealed.json"
    yaml_first = gitsecure("seal", "--cert", str(key_files.cert), "-o", "yaml", input=SECRET).stdout
    # A hand-edited target with its own key order.
    target.write_text(json.dumps(yaml.safe_load(yaml_first.removeprefix("---\n"))))
    addition = "kind: Secret\nmetadata: {name: db}\nstringData: {extra: e}\n"
    result = gitsecure(
        "seal",
        "--cert",
        str(key_files.cert),
        "--merge-into",
        str(target),
        "-w",
        str(tmp_path / "x.yaml"),
        input=addition,
    )
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert text.startswith('{\n  "kind": "SealedSecret",\n  "apiVersion": "bitnami.com/v1alpha1",')
    assert text.index('"template"') < text.index('"encryptedData"')


def test_verbose_errors_carry_their_reference(gitsecure: Runner, key_files: KeyFiles) -> None:
    result = gitsecure("-v", "seal", "--cert", str(key_files.cert), input="kind: ConfigMap\nmetadata: {name: c}\n")
    assert result.returncode == 2
    assert "reference: not-a-secret" in result.stderr
    assert "reference:" not in gitsecure("seal", "--cert", str(key_files.cert), input="kind: ConfigMap\n").stderr


def test_missing_kubernetes_client_is_a_clean_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "sys.modules['kubernetes'] = None  # as if `gitsecure[cluster]` were not installed\n"
        "from gitsecure.cli.main import main\n"
        "raise SystemExit(main(['seal', '--fetch-cert']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 2
    assert "needs the kubernetes client" in proc.stderr and "gitsecure[cluster]" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("scope", "flags", "label"),
    [
        ("strict", ["-n", "shop", "--name", "db"], b"shop/db"),
        ("namespace-wide", ["-n", "shop"], b"shop"),
        ("cluster-wide", [], b""),
    ],
)
def test_raw_values_open_with_the_reference_algorithm(
    gitsecure: Runner, reference_key: Any, scope: str, flags: list[str], label: bytes
) -> None:
    from tests.unit.crypto.test_hybrid import reference_open

    result = gitsecure(
        "seal", "--raw", "--cert", str(KUBESEAL / "tls.crt"), "--scope", scope, *flags, input=b"raw\x00v"
    )
    assert result.returncode == 0, result.stderr
    assert reference_open(reference_key, base64.b64decode(result.stdout), label) == b"raw\x00v"
