"""``gitsecure verify``: commit, tag and serve, flags, environment, exit codes, and the HTTP API over a real socket."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitsecure.cli import main as cli_main
from gitsecure.errors import UsageError
from gitsecure.verify.engine import SignatureGate
from gitsecure.verify.policy import policy_from_flags
from gitsecure.verify.server import ServerConfig, VerifyServer, make_server, parse_listen
from tests.conftest import Runner
from tests.support.verify_world import Keys, SignedRepo


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    made = Keys.make(tmp_path_factory.mktemp("verify-cli-keys"))
    yield made
    made.close()


@pytest.fixture
def repo(tmp_path: Path, keys: Keys) -> SignedRepo:
    return SignedRepo(tmp_path / "repo", keys)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GITSECURE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def gitsecure_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main.main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_commit_exit_codes_and_json(repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    head = repo.commit(ssh="alice")
    code, out, _ = gitsecure_verify(capsys, "commit", "--repo", str(repo.path), "--ssh-key", str(keys.pub("alice")))
    assert code == 0 and out.splitlines()[-1].startswith("trusted: HEAD (mode head, 1 object checked")
    repo.commit("unsigned")
    args = ["commit", "HEAD", "--repo", str(repo.path), "--ssh-key", str(keys.pub("alice")), "--format", "json"]
    code, out, _ = gitsecure_verify(capsys, *args, "--mode", "strict")
    verdict = json.loads(out)
    assert code == 1 and not verdict["trusted"] and verdict["mode"] == "strict"
    assert [(check["problems"], check["oid"] == head) for check in verdict["checks"]] == [
        (["unsigned"], False),
        ([], True),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "p.yaml", "--ssh-key", "k.pub"], "--policy cannot be combined with --gpg-key"),
        ([], "no trust material"),
        (["--ssh-key", "KEY", "--mode", "sideways"], "invalid choice: 'sideways'"),
        (["--ssh-key", "KEY", "no-such-revision"], "unknown revision 'no-such-revision'"),
        (["--ssh-key", "KEY", "--repo", "/nonexistent"], "is not a directory"),
        (["--ssh-key", "/nonexistent.pub"], "--ssh-key: cannot read /nonexistent.pub"),
    ],
)
def test_usage_and_configuration_errors_exit_2(
    repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    repo.commit(ssh="alice")
    args = [str(keys.pub("alice")) if item == "KEY" else item for item in extra]
    if "--repo" not in args:
        args += ["--repo", str(repo.path)]
    code, out, err = gitsecure_verify(capsys, "commit", *args)
    assert code == 2 and out == "" and message in err, err


def test_policy_file_and_no_matching_rule(
    tmp_path: Path, repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(keys.pub("alice"), tmp_path / "alice.pub")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        textwrap.dedent(
            """\
            version: 1
            signers: [{name: alice, ssh: {keys: [alice.pub]}}]
            rules: [{repos: ["github.com/acme/*"], branches: [main], mode: strict, signers: [alice]}]
            """
        )
    )
    repo.commit(ssh="alice")
    base = ["commit", "--repo", str(repo.path), "--policy", str(policy)]
    code, _, err = gitsecure_verify(capsys, *base)
    assert code == 2 and "no rule matches repository" in err
    code, out, _ = gitsecure_verify(capsys, *base, "--repo-url", "https://github.com/acme/app")
    assert code == 0 and "(mode strict," in out
    code, _, err = gitsecure_verify(capsys, *base, "--repo-url", "https://github.com/acme/app", "--branch", "dev")
    assert code == 2 and "no rule matches" in err


def test_environment_variables(
    repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("unsigned")
    repo.commit(ssh="alice")
    monkeypatch.setenv("GITSECURE_VERIFY_SSH_KEY", f"{keys.pub('bob')},{keys.pub('alice')}")
    monkeypatch.setenv("GITSECURE_VERIFY_REPO", str(repo.path))
    code, out, _ = gitsecure_verify(capsys, "commit")
    assert code == 0
    monkeypatch.setenv("GITSECURE_VERIFY_MODE", "strict")
    monkeypatch.setenv("GITSECURE_VERIFY_FORMAT", "json")
    code, out, _ = gitsecure_verify(capsys, "commit")
    assert code == 1 and json.loads(out)["mode"] == "strict"


def test_tag_subcommand(repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit()
    repo.tag("v1", ssh="alice")
    repo.git("tag", "light")
    trust = ["--repo", str(repo.path), "--ssh-key", str(keys.pub("alice")), "--format", "json"]
    code, out, _ = gitsecure_verify(capsys, "tag", "v1", *trust)
    assert code == 0 and json.loads(out)["mode"] == "tag"
    code, out, _ = gitsecure_verify(capsys, "tag", "light", *trust)
    assert code == 1 and json.loads(out)["problems"] == ["light is not an annotated tag"]
    code, out, _ = gitsecure_verify(capsys, "tag", "v1", *trust, "--mode", "tag-and-head")
    assert code == 1 and [c["problems"] for c in json.loads(out)["checks"]] == [[], ["unsigned"]]


def test_state_file_and_anchor(
    tmp_path: Path, repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = repo.commit("legacy")
    head = repo.commit(ssh="alice")
    state = tmp_path / "state" / "anchor"
    state.parent.mkdir()
    args = ["commit", "--repo", str(repo.path), "--ssh-key", str(keys.pub("alice")), "--mode", "strict"]
    assert gitsecure_verify(capsys, *args, "--state-file", str(state))[0] == 1 and not state.exists()
    assert gitsecure_verify(capsys, *args, "--state-file", str(state), "--anchor", legacy)[0] == 0
    assert state.read_text() == head + "\n"
    newer = repo.commit(ssh="alice")
    code, out, _ = gitsecure_verify(capsys, *args, "--state-file", str(state), "--format", "json")
    assert code == 0 and [check["oid"] for check in json.loads(out)["checks"]] == [newer]


def test_cache_dir_and_no_cache(
    tmp_path: Path, repo: SignedRepo, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit(ssh="alice")
    args = ["commit", "--repo", str(repo.path), "--ssh-key", str(keys.pub("alice"))]
    assert gitsecure_verify(capsys, *args, "--no-cache")[0] == 0
    assert not (tmp_path / "xdg-cache").exists()
    assert gitsecure_verify(capsys, *args, "--cache-dir", str(tmp_path / "cache"))[0] == 0
    (entry,) = (tmp_path / "cache").iterdir()
    assert entry.suffix == ".json" and entry.stat().st_mode & 0o777 == 0o600
    assert gitsecure_verify(capsys, *args)[0] == 0
    assert any((tmp_path / "xdg-cache" / "gitsecure" / "verify").iterdir())


PROBE = """\
import sys
from gitsecure.cli.main import main
try:
    rc = main(sys.argv[1:])
except SystemExit as exit:
    rc = exit.code or 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sigstore", "kubernetes", "kopf", "gnupg", "yaml"))
print("PROBE", rc, heavy)
"""


def test_help_and_ssh_verification_import_nothing_heavy(repo: SignedRepo, keys: Keys) -> None:
    repo.commit(ssh="alice")
    for args, expected in (
        (["verify", "--help"], "PROBE 0 []"),
        (["verify", "commit", "--help"], "PROBE 0 []"),
        (["verify", "commit", "--ssh-key", str(keys.pub("alice")), "--no-cache"], "PROBE 0 []"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, *args], cwd=repo.path, capture_output=True, text=True, check=False
        )
        assert [line for line in proc.stdout.splitlines() if line.startswith("PROBE")] == [expected], proc.stderr


# -- serve -------------------------------------------------------------------------------------------------------------


def post(port: int, body: bytes | dict[str, Any], *, path: str = "/v1/verify") -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", path, body=data, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, json.loads(payload)


def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    status, payload = response.status, json.loads(response.read())
    connection.close()
    return status, payload


@pytest.fixture
def server(tmp_path: Path, keys: Keys) -> Iterator[tuple[VerifyServer, Path]]:
    root = tmp_path / "repos"
    root.mkdir()
    with SignatureGate(policy_from_flags([], [], [keys.pub("alice")], "head")) as gate:
        served = make_server(gate, ("127.0.0.1", 0), ServerConfig((root,), max_body=4096))
        thread = threading.Thread(target=served.serve_forever, daemon=True)
        thread.start()
        yield served, root
        served.shutdown()
        served.server_close()


def test_serve_answers_trusted_rejected_and_bad_requests(server: tuple[VerifyServer, Path], keys: Keys) -> None:
    served, root = server
    port = int(served.server_address[1])
    repo = SignedRepo(root / "app", keys)
    repo.commit(ssh="alice")
    repo.commit("unsigned")
    status, verdict = post(port, {"repo": "app", "revision": "HEAD~1"})
    assert status == 200 and verdict["trusted"] and verdict["checks"][0]["signer"] == "ssh-key"
    status, verdict = post(port, {"repo": str(repo.path), "revision": "HEAD"})
    assert status == 403 and not verdict["trusted"] and verdict["checks"][0]["problems"] == ["unsigned"]
    status, verdict = post(port, {"repo": "app", "revision": "HEAD", "mode": "strict"})
    assert status == 403 and verdict["mode"] == "strict" and len(verdict["checks"]) == 2
    outside = SignedRepo(root.parent / "elsewhere", keys)
    outside.commit(ssh="alice")
    (root / "link").symlink_to(outside.path)
    for request in (
        {"repo": str(outside.path), "revision": "HEAD"},
        {"repo": "../elsewhere", "revision": "HEAD"},
        {"repo": "link", "revision": "HEAD"},
    ):
        status, error = post(port, request)
        assert status == 400 and error["reference"] == "repo-outside-roots", request
    for request, reference in (
        (b"{not json", "invalid-json"),
        (b"[]", "invalid-request"),
        ({"repo": "app"}, "invalid-request"),
        ({"repo": "app", "revision": "HEAD", "extra": 1}, "invalid-request"),
        ({"repo": "app", "revision": "HEAD", "mode": "sideways"}, "invalid-request"),
        ({"repo": "app", "revision": "no-such-rev"}, "unknown-revision"),
        ({"repo": "app", "revision": "--output=/tmp/x"}, "unknown-revision"),
    ):
        status, error = post(port, request)
        assert status == 400 and error["reference"] == reference, (request, error)
    status, error = post(port, b"x" * 5000)
    assert status == 413 and error["reference"] == "body-too-large"
    assert get(port, "/healthz") == (200, {"status": "ok"})
    assert get(port, "/v1/verify")[0] == 405 and get(port, "/nope")[0] == 404
    assert post(port, {"repo": "app", "revision": "HEAD"}, path="/other")[0] == 404


def test_serve_command_over_real_http(tmp_path: Path, keys: Keys, gitsecure: Runner) -> None:
    root = tmp_path / "repos"
    repo = SignedRepo(root / "app", keys)
    repo.commit(ssh="alice")
    argv = [sys.executable, "-m", "gitsecure", "verify", "serve", "--listen", "127.0.0.1:0", "--repo-root", str(root)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITSECURE_")}
    env["GITSECURE_VERIFY_SSH_KEY"] = str(keys.pub("alice"))
    env["HOME"] = str(tmp_path)
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line
        port = int(line.rsplit(":", 1)[1])
        assert post(port, {"repo": "app", "revision": "main"})[0] == 200
        repo.commit("unsigned")
        status, verdict = post(port, {"repo": "app", "revision": "main"})
        assert status == 403 and verdict["checks"][0]["problems"] == ["unsigned"]
        assert post(port, {"repo": "/etc", "revision": "HEAD"})[0] == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    missing_root = gitsecure("verify", "serve", "--ssh-key", str(keys.pub("alice")))
    assert missing_root.returncode == 2 and "needs at least one --repo-root" in missing_root.stderr
    both = gitsecure("verify", "serve", "--repo-root", str(root), "--policy", "p.yaml", "--ssh-key", "k.pub")
    assert both.returncode == 2 and "cannot be combined" in both.stderr


def test_serve_mode_is_overridden_by_the_request(tmp_path: Path, keys: Keys) -> None:
    root = tmp_path / "repos"
    repo = SignedRepo(root / "app", keys)
    repo.commit("unsigned")
    repo.commit(ssh="alice")
    with SignatureGate(policy_from_flags([], [], [keys.pub("alice")], "head")) as gate:
        served = make_server(gate, ("127.0.0.1", 0), ServerConfig((root,), mode="strict"))
        threading.Thread(target=served.serve_forever, daemon=True).start()
        try:
            port = int(served.server_address[1])
            status, verdict = post(port, {"repo": "app", "revision": "HEAD"})
            assert status == 403 and verdict["mode"] == "strict"
            status, verdict = post(port, {"repo": "app", "revision": "HEAD", "mode": "head"})
            assert status == 200 and verdict["mode"] == "head"
        finally:
            served.shutdown()
            served.server_close()


@pytest.mark.parametrize(
    ("text", "address"),
    [("127.0.0.1:8090", ("127.0.0.1", 8090)), ("[::1]:0", ("::1", 0)), ("localhost:1", ("localhost", 1))],
)
def test_listen_addresses(text: str, address: tuple[str, int]) -> None:
    assert parse_listen(text) == address


@pytest.mark.parametrize("text", ["8090", ":8090", "host:", "host:port", "host:70000"])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_listen(text)
