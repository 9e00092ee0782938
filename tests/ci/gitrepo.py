"""Real git repositories in a temporary folder, for `sage365 affected`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Partner Engineer", "GIT_AUTHOR_EMAIL": "engineer@partner.example",
    "GIT_COMMITTER_NAME": "Partner Engineer", "GIT_COMMITTER_EMAIL": "engineer@partner.example",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "GIT_CONFIG_GLOBAL": "/dev/null",
}


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        import os
        env = {**os.environ, **GIT_ENV}
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, env=env, check=True)
        return done.stdout.strip()

    def write(self, relative: str, text: str) -> None:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def partner_repo(path: Path) -> Repo:
    """A partner's repository as shipped: three tenants, their stacks, the catalogue, the program."""
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo(path)
    repo.git("init", "-q", "-b", "main")
    for folder in ("tenants", "stacks", "catalog", "components", "policies", "schemas"):
        shutil.copytree(ROOT / folder, path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml", "constraints.txt", "README.md"):
        shutil.copy(ROOT / name, path / name)
    repo.commit("partner repository")
    return repo
