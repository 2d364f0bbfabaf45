"""Really signed git repositories for the signature gate's tests: ssh-keygen and gpg keys, ``git commit -S``.

``Keys`` makes the key material once (a test module fixture): SSH keys for alice, bob, ci and
mallory, an SSH certificate authority, and an OpenPGP key for carol. ``SignedRepo`` commits,
tags and merges with any of them, with distinct increasing dates and the emails a test asks
for. Nothing touches the user's ~/.ssh, ~/.gnupg or git configuration.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.gitrepo import git_environment
from tests.support.gpgkit import GpgKit
from tests.support.sshkit import SshKit

#: 2026-01-01T00:00:00Z: the first commit's date; one minute per commit after that.
EPOCH = 1_767_225_600


@dataclass
class Keys:
    """Signing keys by name: SSH private key paths and OpenPGP fingerprints, plus their public files."""

    root: Path
    ssh: SshKit
    gpg: GpgKit
    ssh_keys: dict[str, Path]
    gpg_keys: dict[str, str]

    @classmethod
    def make(cls, root: Path) -> Keys:
        """Generate every key (once per test module: ssh-keygen and gpg are slow)."""
        ssh = SshKit(root / "ssh")
        ssh_keys = {name: ssh.keygen("ed25519") for name in ("alice", "bob", "ci", "mallory", "ca")}
        gpg = GpgKit(root / "gpg")
        gpg_keys = {"carol": gpg.gen_key("Carol <carol@example.com>", "ed25519", "sign")}
        gpg_keys["dave"] = gpg.gen_key("Dave <dave@example.com>", "ed25519", "cert")
        gpg_keys["dave-sign"] = gpg.add_key(gpg_keys["dave"], "ed25519", "sign")
        keys = cls(root, ssh, gpg, ssh_keys, gpg_keys)
        for name in ("carol", "dave"):
            (root / f"{name}.asc").write_bytes(gpg.export(gpg_keys[name]))
        return keys

    def close(self) -> None:
        """Stop the gpg-agent signing started."""
        self.gpg.close()

    def pub(self, name: str) -> Path:
        """The ``.pub`` file of SSH key ``name``."""
        return self.ssh_keys[name].with_name(self.ssh_keys[name].name + ".pub")

    def line(self, name: str) -> str:
        """The ``<type> <base64>`` of SSH key ``name``."""
        return SshKit.public(self.ssh_keys[name])

    def allowed_signers(self, path: Path, *lines: tuple[str, str] | str) -> Path:
        """Write an allowed_signers file: ``(principals, key name)`` pairs or raw lines."""
        text = [item if isinstance(item, str) else f"{item[0]} {self.line(item[1])}" for item in lines]
        path.write_text("\n".join(text) + "\n")
        return path

    def certify(self, name: str, *, principals: str, validity: str = "always:forever") -> Path:
        """A user certificate for SSH key ``name`` signed by the ``ca`` key; returns the ``-cert.pub`` path."""
        return self.ssh.certify(self.ssh_keys["ca"], self.ssh_keys[name], principals=principals, validity=validity)


class SignedRepo:
    """A git repository on branch ``main`` whose commits and tags are signed for real (or not)."""

    def __init__(self, path: Path, keys: Keys, *, object_format: str = "sha1") -> None:
        self.path = path
        self.keys = keys
        home = keys.root / "home"
        home.mkdir(exist_ok=True)
        self.env = {k: v for k, v in git_environment(home).items() if not k.startswith("SSH_")}
        self.env["GNUPGHOME"] = str(keys.gpg.home)
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main", f"--object-format={object_format}")
        self.git("config", "commit.gpgsign", "false")
        self.git("config", "tag.gpgsign", "false")
        self.clock = EPOCH

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        """Run git; return stdout (stripped). AssertionError with git's message on failure."""
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode().strip()

    def _identity(self, email: str, author: str | None, when: int | None) -> dict[str, str]:
        self.clock += 60
        stamp = f"@{when if when is not None else self.clock} +0000"
        return {
            "GIT_AUTHOR_EMAIL": author or email,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
        }

    def _signing(self, ssh: str | Path | None, gpg: str | None) -> list[str]:
        if ssh is not None:
            key = ssh if isinstance(ssh, Path) else self.keys.ssh_keys[ssh]
            return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
        if gpg is not None:
            return ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={self.keys.gpg_keys[gpg]}!"]
        return []

    def commit(
        self,
        message: str = "change",
        *,
        ssh: str | Path | None = None,
        gpg: str | None = None,
        email: str = "alice@example.com",
        author: str | None = None,
        when: int | None = None,
    ) -> str:
        """An empty commit signed with SSH key ``ssh`` (a name or a certificate path) or OpenPGP key ``gpg``."""
        sign = self._signing(ssh, gpg)
        args = [*sign, "commit", "-q", "--allow-empty", "-m", message, *(["-S"] if sign else [])]
        self.git(*args, env=self._identity(email, author, when))
        return self.rev("HEAD")

    def tag(
        self,
        name: str,
        *,
        ssh: str | None = None,
        gpg: str | None = None,
        email: str = "alice@example.com",
        target: str = "HEAD",
    ) -> str:
        """An annotated tag (signed when a key is given); returns the tag object id."""
        sign = self._signing(ssh, gpg)
        args = [*sign, "tag", "-s" if sign else "-a", "-m", f"release {name}", name, target]
        env = self._identity(email, None, None)
        env["GIT_COMMITTER_EMAIL"] = email  # the tagger
        self.git(*args, env=env)
        return self.rev(f"refs/tags/{name}")

    def merge(self, branch: str, *, ssh: str | None = None, email: str = "alice@example.com") -> str:
        """A --no-ff merge of ``branch`` (a branch or a signed tag) into the current branch."""
        sign = self._signing(ssh, None)
        args = [*sign, "merge", "-q", "--no-ff", "--no-edit", "-m", f"merge {branch}", branch]
        self.git(*(args + (["-S"] if sign else [])), env=self._identity(email, None, None))
        return self.rev("HEAD")

    def rev(self, name: str) -> str:
        """The object id ``name`` resolves to (not peeled)."""
        return self.git("rev-parse", "--verify", name)

    def raw(self, oid: str) -> bytes:
        """The raw object ``oid``."""
        kind = self.git("cat-file", "-t", oid)
        return subprocess.run(
            ["git", "cat-file", kind, oid], cwd=self.path, env=self.env, capture_output=True, check=True
        ).stdout

    def write_object(self, kind: str, raw: bytes) -> str:
        """Store hand-made object bytes as they are (no fsck); returns the id."""
        return self.git("hash-object", "-t", kind, "-w", "--literally", "--stdin", input=raw)
