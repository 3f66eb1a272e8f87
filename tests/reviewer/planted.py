"""A base and head commit pair whose head plants known defects, one per file, at known lines."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.gitrepo import GitRepo

# Built by concatenation so this test file itself does not carry a credential-shaped literal.
FAKE_AWS_KEY_ID = "AKIA" + "Z7Q4M2XW9RTB3KLP"

BASE_FILES = {
    "README.md": "# upload service\n",
    "app.py": "def greet(name: str) -> str:\n    return 'hello ' + name\n",
}

HEAD_FILES = {
    "app.py": "def greet(name: str) -> str:\n    return f'hello {name}'\n",
    "settings.py": (
        '"""Settings for the upload service."""\n'
        "\n"
        f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY_ID}"\n'
        'REGION = "eu-west-1"\n'
    ),
    "db.py": (
        "import sqlite3\n"
        "\n"
        "\n"
        "def find_user(connection: sqlite3.Connection, name: str) -> list:\n"
        "    query = \"SELECT id, email FROM users WHERE name = '%s'\" % name\n"
        "    return connection.execute(query).fetchall()\n"
    ),
    "runner.py": (
        "import subprocess\n"
        "\n"
        "\n"
        "def archive(path: str) -> None:\n"
        '    subprocess.run(f"tar czf backup.tgz {path}", shell=True, check=True)\n'
    ),
    "loader.py": (
        "import yaml\n"
        "\n"
        "\n"
        "def load_config(text: str) -> dict:\n"
        "    return yaml.load(text)\n"
    ),
    "handler.py": (
        "def close_quietly(resource) -> None:\n"
        "    try:\n"
        "        resource.close()\n"
        "    except:\n"
        "        pass\n"
    ),
    "deploy.sh": (
        "#!/bin/sh\n"
        "target_dir=$1\n"
        "rm -rf $target_dir/cache\n"
    ),
    "clean.py": (
        "def add(left: int, right: int) -> int:\n"
        '    """Return the sum of two integers."""\n'
        "    return left + right\n"
    ),
    "clean.sh": (
        "#!/bin/sh\n"
        'set -eu\n'
        'printf "%s\\n" "$1"\n'
    ),
}

# (path, line, analyzer, rule): what a review of the head must report, after triage.
EXPECTED_DEFECTS = {
    ("settings.py", 3, "secrets"),
    ("db.py", 5, "bandit"),
    ("runner.py", 5, "bandit"),
    ("loader.py", 5, "bandit"),
    ("handler.py", 4, "ruff"),
    ("deploy.sh", 3, "shellcheck"),
}
CLEAN_FILES = {"clean.py", "clean.sh", "app.py"}


def build_planted_repo(path: Path) -> tuple[GitRepo, str, str]:
    """Create the repository and return it with the base and head SHAs."""
    repo = GitRepo.init(path)
    base = repo.commit("Add the upload service", BASE_FILES)
    repo.write("deploy.sh", HEAD_FILES["deploy.sh"], executable=True)
    head = repo.commit("Add storage, jobs and deploy script", HEAD_FILES)
    return repo, base, head
