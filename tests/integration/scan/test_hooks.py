"""The hooks for real: `gitsecure hooks install` + `git commit`, and the pre-commit framework's try-repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitsecure.cli.hooks_cmd import SCRIPTS
from tests.support.gitrepo import GitRepo

PROJECT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
# An AWS access key id shape: AKIA + 16 of [A-Z2-7]; made up, high entropy.
SECRET_ID = "AKIA" + "Z7Q3RXW5KJ4M2VTN"
SECRET_LINE = f"aws_access_key_id = {SECRET_ID}\n"


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    home = tmp_path / "home"
    home.mkdir()
    repo = GitRepo(tmp_path / "work", home=home)
    repo.env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return repo


def cli(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitsecure", *args],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_hook_scripts_in_the_repository_match_what_install_writes() -> None:
    for name, text in SCRIPTS.items():
        script = PROJECT / "hooks" / name
        assert script.read_text() == text
        assert os.access(script, os.X_OK)


def test_installed_pre_commit_hook_blocks_a_secret_and_passes_a_clean_commit(repo: GitRepo) -> None:
    installed = cli(repo, "hooks", "install")
    assert installed.returncode == 0, installed.stderr
    repo.write("config.ini", SECRET_LINE)
    repo.git("add", "config.ini")
    blocked = repo.git("commit", "-m", "add key", check=False)
    output = blocked.stdout.decode() + blocked.stderr.decode()
    assert blocked.returncode != 0
    assert "config.ini" in output
    assert SECRET_ID not in output
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0  # no commit made
    repo.git("rm", "-q", "--cached", "config.ini")
    repo.write("README.md", "nothing to see\n")
    repo.git("add", "README.md")
    passed = repo.git("commit", "-m", "clean", check=False)
    assert passed.returncode == 0, passed.stderr.decode()


def test_commit_all_is_checked_too(repo: GitRepo) -> None:
    repo.write("app.py", "print('hi')\n")
    repo.git("add", "app.py")
    repo.git("commit", "-q", "-m", "first")
    assert cli(repo, "hooks", "install").returncode == 0
    repo.write("app.py", f"print('hi')\nKEY = '{SECRET_ID}'\n")
    blocked = repo.git("commit", "-a", "-m", "key", check=False)  # git stages into a temporary index
    assert blocked.returncode != 0
    assert repo.git("rev-list", "--count", "HEAD").stdout.strip() == b"1"


def test_install_respects_hooks_path_and_foreign_hooks(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("config", "core.hooksPath", "custom-hooks")
    assert cli(repo, "hooks", "install", "--hook", "pre-commit", "--hook", "pre-push").returncode == 0
    assert (repo.path / "custom-hooks" / "pre-commit").read_text() == SCRIPTS["pre-commit"]
    assert os.access(repo.path / "custom-hooks" / "pre-push", os.X_OK)
    assert cli(repo, "hooks", "install").returncode == 0  # reinstalling our own hook needs no --force
    foreign = repo.path / "custom-hooks" / "pre-commit"
    foreign.write_text("#!/bin/sh\necho mine\n")
    refused = cli(repo, "hooks", "install")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and "--force" in refused.stderr
    assert foreign.read_text() == "#!/bin/sh\necho mine\n"
    assert cli(repo, "hooks", "install", "--force").returncode == 0
    assert foreign.read_text() == SCRIPTS["pre-commit"]
    assert (repo.path / "custom-hooks" / "pre-commit.gitsecure-backup").read_text() == "#!/bin/sh\necho mine\n"
    outside = tmp_path / "outside"
    outside.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "gitsecure", "hooks", "install"],
        cwd=outside,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) <= 2 and "not inside a git repository" in result.stderr


def test_pre_push_hook_blocks_pushing_a_secret(repo: GitRepo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], env=repo.env, check=True)
    repo.git("remote", "add", "origin", str(remote))
    repo.write("a.txt", "clean\n")
    repo.git("add", "a.txt")
    repo.git("commit", "-q", "-m", "clean")
    assert cli(repo, "hooks", "install", "--hook", "pre-push").returncode == 0
    assert repo.git("push", "-q", "origin", "main", check=False).returncode == 0
    repo.write("b.txt", SECRET_LINE)
    repo.git("add", "b.txt")
    repo.git("commit", "-q", "-m", "key")  # no pre-commit hook installed here
    pushed = repo.git("push", "-q", "origin", "main", check=False)
    assert pushed.returncode != 0
    assert SECRET_ID not in pushed.stdout.decode() + pushed.stderr.decode()
    assert repo.git("ls-remote", str(remote), "main").stdout.split()[0] != repo.git("rev-parse", "HEAD").stdout.strip()


# ---- the pre-commit framework ------------------------------------------------------------------------------

HOOK_REPO_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project as a committed git repository: try-repo only sees committed or tracked files.

    Built from the working files (not HEAD), so the test checks the code under
    test whether or not it is committed, and works from a clean clone too.
    """
    target = tmp_path_factory.mktemp("hook-repo")
    for name in HOOK_REPO_FILES:
        if (PROJECT / name).exists():
            shutil.copy2(PROJECT / name, target / name)
    shutil.copytree(PROJECT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(target)}
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hooks"],
    ):
        subprocess.run(["git", *args], cwd=target, env=env, check=True)
    return target


def pre_commit(repo: GitRepo, hook_repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(repo.env, PRE_COMMIT_HOME=str(repo.path.parent / "pre-commit-cache"), PRE_COMMIT_COLOR="never")
    # pip's cache survives the HOME change: the hook venv installs from cached wheels after the first run.
    env.setdefault("PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")))
    return subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(hook_repo), *args],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_pre_commit_framework_runs_both_hooks_from_this_repository(repo: GitRepo, hook_repo: Path) -> None:
    repo.write("clean.txt", "hello\n")
    repo.git("add", "clean.txt")
    clean = pre_commit(repo, hook_repo, "--verbose")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "gitsecure (staged changes)" in clean.stdout and "gitsecure (files)" in clean.stdout

    repo.git("commit", "-q", "-m", "clean")
    repo.write("deploy/creds.env", SECRET_LINE)
    repo.git("add", "deploy/creds.env")
    repo.git("commit", "-q", "--no-verify", "-m", "key")  # committed: only --all-files can see it
    staged_only = pre_commit(repo, hook_repo, "gitsecure", "--all-files")
    assert staged_only.returncode == 0, staged_only.stdout  # nothing staged: the staged hook has nothing to say
    all_files = pre_commit(repo, hook_repo, "gitsecure-files", "--all-files")
    assert all_files.returncode != 0
    assert "deploy/creds.env" in all_files.stdout
    assert SECRET_ID not in all_files.stdout + all_files.stderr

    repo.write("more.py", f"KEY = '{SECRET_ID[:-1]}Q'\n")
    repo.git("add", "more.py")
    staged = pre_commit(repo, hook_repo, "gitsecure")
    assert staged.returncode != 0
    assert "more.py" in staged.stdout
