"""Building signed repositories with real git, and running ``gitsecure verify`` as a user would.

:class:`SignedRepo` makes commits with ``git commit-tree -S`` (OpenPGP through gpg with a tmp
GNUPGHOME, SSH through ssh-keygen with a tmp HOME), so no working tree or HEAD is involved and
every commit can be named by its id. :func:`graft` and :func:`signature_of` build the objects git
will not make (a signature moved to other bytes, a foreign namespace) from raw bytes, written with
``git hash-object``. :func:`verify` runs ``python -m gitsecure verify`` in a scrubbed environment
and returns the exit code and the parsed JSON verdict.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitsecure.crypto.openpgp_packets import crc24
from tests.support.gitrepo import git_environment
from tests.support.rawcommit import split_commit

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
#: The seal trailer strict mode stops at (when the seal commit itself is trusted).
SEAL = "Gitsecure-Seal: reviewed range"


class SignedRepo:
    """A throwaway repository whose commits and tags are signed by real gpg and ssh-keygen."""

    def __init__(self, path: Path, *, home: Path, gnupghome: Path, object_format: str = "sha1") -> None:
        self.path = path
        self.env = git_environment(home)
        self.env["GNUPGHOME"] = str(gnupghome)
        self.env = {k: v for k, v in self.env.items() if not k.startswith("SSH_")}
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", f"--object-format={object_format}")
        for key, value in (
            ("user.name", "Test"),
            ("user.email", "alice@example.com"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("gpg.program", "gpg"),
            ("gpg.ssh.program", "ssh-keygen"),
        ):
            self.git("config", key, value)
        self.tree = self.git("mktree", input=b"").decode().strip()
        # Commit times a day back and increasing: topological order stays stable, SSH windows see "now".
        self.clock = int(NOW.timestamp()) - 86_400

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        """Run git in the repository; return stdout (AssertionError with git's stderr on failure)."""
        merged = {**self.env, **(env or {})}
        proc = subprocess.run(
            ["git", *args], cwd=self.path, env=merged, input=input, capture_output=True, check=False, timeout=120
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def _who(self, author: str, committer: str | None, when: int | None) -> dict[str, str]:
        if when is None:
            self.clock += 60
            when = self.clock
        stamp = f"@{when} +0000"
        return {
            "GIT_AUTHOR_EMAIL": author,
            "GIT_COMMITTER_EMAIL": committer or author,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
        }

    @staticmethod
    def _signing(gpg: str | None, ssh: Path | None) -> tuple[list[str], list[str]]:
        # (config before the command, the -S flag after it)
        if gpg is not None:
            return ["-c", "gpg.format=openpgp"], [f"-S{gpg}"]
        if ssh is not None:
            return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh}"], ["-S"]
        return [], []

    def commit(
        self,
        message: str = "change",
        *,
        parents: tuple[str, ...] = (),
        gpg: str | None = None,
        ssh: Path | None = None,
        author: str = "alice@example.com",
        committer: str | None = None,
        when: int | None = None,
        branch: str | None = None,
    ) -> str:
        """A commit of the empty tree, signed by gpg key ``gpg`` or SSH key file ``ssh`` (or unsigned)."""
        config, flag = self._signing(gpg, ssh)
        args = [*config, "commit-tree", self.tree, *(a for p in parents for a in ("-p", p)), "-m", message, *flag]
        oid = self.git(*args, env=self._who(author, committer, when)).decode().strip()
        if branch is not None:
            self.git("update-ref", f"refs/heads/{branch}", oid)
        return oid

    def tag(
        self,
        name: str,
        target: str,
        *,
        gpg: str | None = None,
        ssh: Path | None = None,
        annotated: bool = True,
        tagger: str = "alice@example.com",
    ) -> str:
        """A lightweight, annotated or signed tag of ``target``; returns the tag object id (or the target)."""
        config, _ = self._signing(gpg, ssh)
        if not annotated:
            self.git("tag", name, target)
        elif gpg is not None:
            self.git(
                *config,
                "tag",
                "-s",
                "-u",
                gpg,
                "-m",
                f"release {name}",
                name,
                target,
                env=self._who(tagger, None, None),
            )
        elif ssh is not None:
            self.git(*config, "tag", "-s", "-m", f"release {name}", name, target, env=self._who(tagger, None, None))
        else:
            self.git("tag", "-a", "-m", f"release {name}", name, target, env=self._who(tagger, None, None))
        return self.git("rev-parse", "--verify", f"refs/tags/{name}").decode().strip()

    def merge_tag(self, base: str, tag: str, *, gpg: str, branch: str) -> str:
        """``git merge --no-ff -S`` of signed tag ``tag`` into ``base`` (git embeds the tag as a ``mergetag``)."""
        self.git("checkout", "-q", "-B", branch, base)
        env = self._who("alice@example.com", None, None)
        self.git("-c", "gpg.format=openpgp", "merge", "-q", "--no-ff", f"-S{gpg}", "-m", "merge tag", tag, env=env)
        return self.git("rev-parse", "HEAD").decode().strip()

    def raw(self, oid: str) -> bytes:
        """The object's bytes as git stores them."""
        kind = self.git("cat-file", "-t", oid).decode().strip()
        return self.git("cat-file", kind, oid)

    def write(self, raw: bytes, *, kind: str = "commit", literally: bool = False) -> str:
        """Store hand-made object bytes; returns the id."""
        extra = ["--literally"] if literally else []
        return self.git("hash-object", "-t", kind, "-w", *extra, "--stdin", input=raw).decode().strip()


# --- raw commit surgery ------------------------------------------------------------------------------------------


def _head_and_body(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.partition(b"\n\n")
    return head.split(b"\n"), body


def signature_of(raw: bytes) -> bytes:
    """The armoured ``gpgsig`` header value of a raw commit, un-indented."""
    armored, _ = split_commit(raw)
    assert armored, "commit carries no gpgsig header"
    return armored


def unsigned(raw: bytes) -> bytes:
    """A raw commit without its ``gpgsig`` header: the bytes the signature covers."""
    return split_commit(raw)[1]


def graft(raw: bytes, armored: bytes) -> bytes:
    """``raw`` (an unsigned commit) with ``armored`` as its ``gpgsig`` header, indented as git writes it."""
    lines, body = _head_and_body(raw)
    sig = armored.rstrip(b"\n").split(b"\n")
    header = b"gpgsig " + sig[0] + b"".join(b"\n " + line for line in sig[1:])
    return b"\n".join([*lines, header]) + b"\n\n" + body


def armor_public_key(binary: bytes) -> bytes:
    """Binary OpenPGP key packets as a ``PGP PUBLIC KEY BLOCK``."""
    encoded = base64.b64encode(binary).decode()
    lines = ["-----BEGIN PGP PUBLIC KEY BLOCK-----", ""]
    lines += [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    lines += ["=" + base64.b64encode(crc24(binary).to_bytes(3, "big")).decode(), "-----END PGP PUBLIC KEY BLOCK-----"]
    return ("\n".join(lines) + "\n").encode()


# --- running the CLI ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One ``gitsecure verify`` run: exit code, output, and the JSON verdict when there is one."""

    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def verdict(self) -> dict[str, Any]:
        """The JSON verdict on stdout."""
        try:
            data = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"no JSON verdict (rc {self.rc}): {self.stdout!r} {self.stderr!r}") from exc
        assert isinstance(data, dict)
        return data

    def check(self, oid: str, kind: str = "commit") -> dict[str, Any]:
        """The verdict's check for object ``oid``."""
        found: list[dict[str, Any]] = [c for c in self.verdict["checks"] if c["oid"] == oid and c["kind"] == kind]
        assert len(found) == 1, f"{kind} {oid} checked {len(found)} times: {self.verdict}"
        return found[0]

    def checked(self) -> list[str]:
        """The object ids checked, in the verdict's order."""
        return [c["oid"] for c in self.verdict["checks"]]

    def all_problems(self) -> list[str]:
        """Every problem in the verdict: per check, then verdict-wide."""
        return [p for c in self.verdict["checks"] for p in c["problems"]] + list(self.verdict["problems"])


def verify(*args: str | Path, home: Path, json_format: bool = True, verbose: bool = False) -> Run:
    """``python -m gitsecure verify ARGS`` with HOME/caches in ``home`` and no inherited gitsecure/git/ssh/gpg state."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITSECURE_", "GIT_", "SSH_", "GNUPG", "XDG_")) and k != "KUBECONFIG"
    }
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    argv = [str(a) for a in args] + (["--format", "json"] if json_format else [])
    prefix = ["-v"] if verbose else []
    proc = subprocess.run(
        [sys.executable, "-m", "gitsecure", *prefix, "verify", *argv],
        env=env,
        cwd=home,
        capture_output=True,
        check=False,
        timeout=120,
    )
    return Run(tuple(argv), proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


def assert_trusted(run: Run) -> dict[str, Any]:
    """Exit 0 and a trusted verdict with every check clean; returns the verdict."""
    assert run.rc == 0, f"expected trusted, got rc {run.rc}: {run.stdout} {run.stderr}"
    verdict = run.verdict
    assert verdict["trusted"] is True and verdict["problems"] == []
    assert verdict["checks"] and all(check["problems"] == [] for check in verdict["checks"])
    assert verdict["policy_hash"].startswith("sha256:")
    return verdict


def assert_rejected(run: Run, problem: str, *, oid: str | None = None, kind: str = "commit") -> dict[str, Any]:
    """Exit 1, an untrusted verdict, and ``problem`` exactly among the problems (of object ``oid`` when given)."""
    assert run.rc == 1, f"expected rejection ({problem}), got rc {run.rc}: {run.stdout} {run.stderr}"
    verdict = run.verdict
    assert verdict["trusted"] is False
    problems = run.check(oid, kind)["problems"] if oid is not None else run.all_problems()
    assert problem in problems, f"{problem!r} not in {problems!r} (verdict {verdict})"
    return verdict


def assert_error(run: Run, fragment: str) -> None:
    """Exit 2 (usage or configuration error), one ``error:`` line naming ``fragment``, and no verdict."""
    assert run.rc == 2, f"expected exit 2 ({fragment}), got rc {run.rc}: {run.stdout} {run.stderr}"
    assert fragment in run.stderr, f"{fragment!r} not in stderr {run.stderr!r}"
    assert '"trusted": true' not in run.stdout
