"""A git repository whose signing program is a recorder: it shows which bytes git hands to a signer.

``gpg.program``, ``gpg.x509.program`` and ``gpg.ssh.program`` all point at one
small script. When git signs, the script saves its input (stdin for the gpg
interface, the buffer file for the ssh-keygen interface) and answers with a
fake armoured signature plus the ``[GNUPG:] SIG_CREATED`` status git waits
for. When git verifies (``git verify-commit``/``verify-tag``), it saves the
payload and signature git passes and reports a good signature. The
signatures are not cryptographic: these tests are about bytes, not keys.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.gitrepo import git_environment

SCRIPT = r"""#!{python}
import os, sys
log = os.environ["FAKE_SIGNER_LOG"]
args = sys.argv[1:]

def save(name, data):
    with open(os.path.join(log, name), "wb") as handle:
        handle.write(data)

if "-Y" in args:  # the ssh-keygen interface: sign the buffer file into <file>.sig
    buffer = args[-1]
    with open(buffer, "rb") as handle:
        save("sign", handle.read())
    with open(buffer + ".sig", "wb") as handle:
        handle.write(b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHZmFrZQ==\n-----END SSH SIGNATURE-----\n")
    sys.exit(0)
data = sys.stdin.buffer.read()
if "--verify" in args:
    save("verify", data)
    with open(args[args.index("--verify") + 1], "rb") as handle:
        save("verify-sig", handle.read())
    sys.stdout.write("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 0123456789ABCDEF fake\n")
    sys.exit(0)
save("sign", data)
armor = os.environ.get("FAKE_ARMOR", "PGP SIGNATURE")
sys.stdout.write(f"-----BEGIN {{armor}}-----\n\nZmFrZQ==\n=abcd\n-----END {{armor}}-----\n")
sys.stderr.write("\n[GNUPG:] SIG_CREATED D 22 8 00 1700000000 0123456789ABCDEF0123456789ABCDEF01234567\n")
"""

#: The exact signature the fake signer prints for the gpg interface (git stores it un-indented the same).
FAKE_PGP = b"-----BEGIN PGP SIGNATURE-----\n\nZmFrZQ==\n=abcd\n-----END PGP SIGNATURE-----\n"


class SigningRepo:
    """``git init`` (SHA-1 or SHA-256) with the recording signer configured; helpers for commits, tags, merges."""

    def __init__(self, path: Path, *, home: Path, object_format: str = "sha1") -> None:
        self.path = path
        self.log = home / f"signer-log-{path.name}"
        self.log.mkdir(parents=True, exist_ok=True)
        script = home / "fake-signer"
        if not script.exists():
            script.write_text(SCRIPT.format(python=sys.executable))
            script.chmod(0o755)
        self.env = git_environment(home)
        self.env["FAKE_SIGNER_LOG"] = str(self.log)
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", f"--object-format={object_format}")
        for key, value in (
            ("gpg.program", script),
            ("gpg.x509.program", script),
            ("gpg.ssh.program", script),
            ("user.signingkey", home / "fake-signer"),  # the ssh interface wants a key file; the others ignore it
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
        ):
            self.git("config", key, str(value))
        self.clock = 1_700_000_000

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        """Run git in the repository; return stdout."""
        merged = {**self.env, **(env or {})}
        proc = subprocess.run(["git", *args], cwd=self.path, env=merged, capture_output=True, input=input, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc.stdout

    def _dated(self) -> dict[str, str]:
        # Distinct, increasing dates keep git's topological order stable and the ids reproducible.
        self.clock += 60
        stamp = f"@{self.clock} +0100"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def commit(self, message: str = "change", *, sign: str | None = None, armor: str | None = None) -> str:
        """An empty commit; ``sign`` is a gpg.format (openpgp, ssh, x509) to sign with, None for unsigned."""
        env = self._dated()
        if armor:
            env["FAKE_ARMOR"] = armor
        args = ["commit", "-q", "--allow-empty", "-m", message]
        if sign:
            args = ["-c", f"gpg.format={sign}", *args, "-S"]
        self.git(*args, env=env)
        return self.rev("HEAD")

    def tag(self, name: str, message: str = "release", *, sign: bool = False, target: str = "HEAD") -> str:
        """An annotated tag (signed with the fake gpg when ``sign``); returns the tag object id."""
        self.git("tag", "-s" if sign else "-a", "-m", message, name, target, env=self._dated())
        return self.rev(f"refs/tags/{name}")

    def merge(self, what: str, message: str = "merge", *, sign: bool = False) -> str:
        """A non-fast-forward merge of ``what`` into the current branch."""
        args = ["merge", "-q", "--no-ff", "--no-edit", "-m", message, what]
        self.git(*([*args, "-S"] if sign else args), env=self._dated())
        return self.rev("HEAD")

    def rev(self, name: str) -> str:
        """The object id ``name`` resolves to (not peeled)."""
        return self.git("rev-parse", "--verify", name).decode().strip()

    def write_object(self, kind: str, raw: bytes) -> str:
        """Store hand-made object bytes as they are (no fsck), returning the id."""
        return self.git("hash-object", "-t", kind, "-w", "--literally", "--stdin", input=raw).decode().strip()

    def signed(self) -> bytes:
        """The payload the fake signer received most recently."""
        return (self.log / "sign").read_bytes()

    def verified(self, kind: str, rev: str) -> tuple[bytes, bytes]:
        """Run ``git verify-commit``/``verify-tag`` and return the (payload, signature) git passed to gpg."""
        self.git(f"verify-{kind}", rev)
        return (self.log / "verify").read_bytes(), (self.log / "verify-sig").read_bytes()
