"""A throwaway git repository for tests: isolated from the user's git configuration."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git_environment(home: Path) -> dict[str, str]:
    """The process environment with HOME moved and every global/system git setting ignored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITSECURE_", "PRE_COMMIT"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )
    return env


class GitRepo:
    """``git init`` in ``path``; helpers to write files, stage and commit."""

    def __init__(self, path: Path, *, home: Path) -> None:
        self.path = path
        self.env = git_environment(home)
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.invalid")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=self.path, env=self.env, capture_output=True, check=check, input=input
        )

    def write(self, name: str, data: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return target

    def commit(self, message: str = "change", *paths: str) -> str:
        self.git("add", "-A", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.decode().strip()
