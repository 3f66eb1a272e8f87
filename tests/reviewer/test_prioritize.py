"""Risk scoring, the top_n cut, hunk clipping and LLM batches."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pr_reviewer.diff import read_change
from pr_reviewer.languages import detect_language
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, Hunk, SkippedFile
from pr_reviewer.prioritize import batches, prioritize, score_file
from pr_reviewer.settings import ReviewSettings
from tests.helpers.gitrepo import GitRepo


def added_hunk(new_start: int, *texts: str) -> Hunk:
    lines = [DiffLine("+", text, None, new_start + offset) for offset, text in enumerate(texts)]
    return Hunk(old_start=new_start - 1, old_count=0, new_start=new_start, new_count=len(texts), lines=lines)


def changed_file(path: str, *hunks: Hunk) -> FileChange:
    return FileChange(path=path, old_path=None, kind=ChangeKind.MODIFIED, hunks=list(hunks),
                      language=detect_language(path))  # fmt: skip


def settings(**overrides: object) -> ReviewSettings:
    return ReviewSettings(repo=".", base="main", head="HEAD", **overrides)  # type: ignore[arg-type]


def test_scores_follow_table() -> None:
    plain = changed_file("app.py", added_hunk(1, "x = 1"))
    sensitive = changed_file("auth/login.py", added_hunk(1, "password = input()"))
    docs = changed_file("docs/guide.md", added_hunk(1, "a", "b", "c"))
    config = changed_file("settings.yaml", added_hunk(1, "debug: true"))
    unknown = changed_file("data.unknownext", added_hunk(1, "x"))

    assert score_file(plain) == 1.0
    assert score_file(sensitive) == 6.0  # size 1 + path "auth" 3 + content "credentials" 2
    assert score_file(docs) == 0.6  # docs factor 0.3 x size 2
    assert score_file(config) == 0.8
    assert score_file(unknown) == 0.6


def test_each_content_pattern_counts_once() -> None:
    repeated = changed_file("run.py", added_hunk(1, "eval(a)", "eval(b)", "eval(c)"))

    assert score_file(repeated) == 4.0  # size log2(4) = 2 + "code execution" 2 once


def test_sensitive_path_outranks_larger_docs_change() -> None:
    docs = changed_file("docs/guide.md", added_hunk(1, *[f"line {number}" for number in range(60)]))
    login = changed_file("src/auth/login.py", added_hunk(10, "check()"))

    chosen = prioritize([docs, login], settings())

    assert [file.path for file in chosen.files] == ["src/auth/login.py", "docs/guide.md"]


def test_risky_content_outranks_plain_code() -> None:
    plain = changed_file("a_plain.py", added_hunk(1, "total = price * count"))
    risky = changed_file("b_risky.py", added_hunk(1, "subprocess.run(command, shell=True)"))

    chosen = prioritize([plain, risky], settings())

    assert [(file.path, file.score) for file in chosen.files] == [("b_risky.py", 3.0), ("a_plain.py", 1.0)]


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (".github/workflows/ci.yml", "run: make"),
        ("db/migrations/0002_add_user.py", "x = 1"),
        ("deploy/Dockerfile", "RUN make"),
        ("infra/main.tf", 'resource "x" "y" {}'),
        ("billing/payment.go", "x := 1"),
        ("pkg/crypto/cipher.go", "x := 1"),
        ("app/security.py", "x = 1"),
    ],
)
def test_sensitive_paths_outrank_plain_code(path: str, line: str) -> None:
    plain = changed_file("a.py", added_hunk(1, "x = 1"))
    sensitive = changed_file(path, added_hunk(1, line))

    chosen = prioritize([plain, sensitive], settings())

    assert [file.path for file in chosen.files] == [path, "a.py"]


@pytest.mark.parametrize(
    "line",
    [
        "exec(code)",
        "os.system(cmd)",
        'cursor.execute("SELECT * FROM users WHERE id = " + user_id)',
        "api_key = load()",
        "data = pickle.loads(blob)",
        "requests.get(url, verify=False)",
    ],
)
def test_security_content_raises_score(line: str) -> None:
    assert score_file(changed_file("a.py", added_hunk(1, line))) > score_file(changed_file("a.py", added_hunk(1, "x")))


def test_removed_lines_add_no_content_risk() -> None:
    hunk = Hunk(1, 1, 1, 0, lines=[DiffLine("-", "eval(user_input)", 1, None)])

    assert score_file(changed_file("a.py", hunk)) == 1.0


def test_top_n_cut_lists_exact_skipped() -> None:
    files = [
        changed_file("docs/a.md", added_hunk(1, "a")),
        changed_file("src/auth.py", added_hunk(1, "token = get()")),
        changed_file("src/b.py", added_hunk(1, "b")),
        changed_file("src/c.py", added_hunk(1, "c", "c")),
        changed_file("README.md", added_hunk(1, "r")),
    ]

    chosen = prioritize(files, settings(top_n=2))

    assert [file.path for file in chosen.files] == ["src/auth.py", "src/c.py"]
    reason = "beyond top_n=2 (lower risk score)"
    assert chosen.skipped == [
        SkippedFile("src/b.py", reason, "beyond_top_n"),
        SkippedFile("README.md", reason, "beyond_top_n"),
        SkippedFile("docs/a.md", reason, "beyond_top_n"),
    ]
    assert chosen.clipped_hunks == 0


def test_equal_scores_order_by_path() -> None:
    files = [changed_file(name, added_hunk(1, "x")) for name in ("c.py", "a.py", "b.py")]

    chosen = prioritize(files, settings())

    assert [file.path for file in chosen.files] == ["a.py", "b.py", "c.py"]
    assert chosen.skipped == []


def test_hunks_sorted_by_score() -> None:
    file = changed_file("app.py", added_hunk(1, "x = 1"), added_hunk(20, "eval(data)"), added_hunk(40, "y", "z", "w"))

    chosen = prioritize([file], settings())

    assert [(hunk.new_start, hunk.score) for hunk in chosen.files[0].hunks] == [(20, 3.0), (40, 2.0), (1, 1.0)]


def test_long_hunk_clipped_to_max_lines() -> None:
    long_hunk = Hunk(
        old_start=1,
        old_count=3,
        new_start=1,
        new_count=4,
        lines=[
            DiffLine(" ", "keep", 1, 1),
            DiffLine("-", "old", 2, None),
            DiffLine("+", "new", None, 2),
            DiffLine("+", "more", None, 3),
            DiffLine(" ", "tail", 3, 4),
        ],
    )
    short_hunk = added_hunk(10, "short")
    file = changed_file("app.py", long_hunk, short_hunk)

    chosen = prioritize([file], settings(max_hunk_lines=3))

    assert chosen.clipped_hunks == 1
    clipped = next(hunk for hunk in chosen.files[0].hunks if hunk.new_start == 1)
    assert clipped.lines == long_hunk.lines[:3]
    assert (clipped.old_start, clipped.old_count, clipped.new_start, clipped.new_count) == (1, 2, 1, 2)
    assert len(long_hunk.lines) == 5


def test_input_files_are_not_changed() -> None:
    files = [changed_file("b.py", added_hunk(1, "x"), added_hunk(5, "eval(y)")), changed_file("a.py")]
    snapshot = copy.deepcopy(files)

    prioritize(files, settings(top_n=1, max_hunk_lines=1))

    assert files == snapshot


def test_batches_group_hunks_by_batch_size() -> None:
    first = changed_file("a.py", added_hunk(1, "a"), added_hunk(10, "b"), added_hunk(20, "c"))
    second = changed_file("b.py", added_hunk(1, "d"))
    third = changed_file("c.py", added_hunk(1, "e"), added_hunk(10, "f"), added_hunk(20, "g"))
    empty = changed_file("renamed.py")

    grouped = batches([first, second, empty, third], batch_size=3)

    assert [[(file.path, hunk.new_start) for file, hunk in batch] for batch in grouped] == [
        [("a.py", 1), ("a.py", 10), ("a.py", 20)],
        [("b.py", 1), ("c.py", 1), ("c.py", 10)],
        [("c.py", 20)],
    ]


def test_batches_of_nothing_is_empty() -> None:
    assert batches([], batch_size=5) == []


def test_batches_reject_zero_size() -> None:
    with pytest.raises(ValueError, match=r"^invalid batch_size=0: must be at least 1$"):
        batches([changed_file("a.py", added_hunk(1, "a"))], batch_size=0)


def test_real_change_is_ranked(tmp_path: Path) -> None:
    repo = GitRepo.init(tmp_path / "repo")
    base = repo.commit("base", {"README.md": "# app\n", "app/views.py": "x = 1\n", "app/auth.py": "y = 1\n"})
    head = repo.commit(
        "change",
        {
            "README.md": "# app\n\nMore words here.\nAnd here.\n",
            "app/views.py": "x = 2\n",
            "app/auth.py": "import pickle\nuser = pickle.loads(cookie)\n",
        },
    )
    repo.checkout(head)
    files, _ = read_change(repo.path, base, head, settings())

    chosen = prioritize(files, settings(top_n=2))

    assert [file.path for file in chosen.files] == ["app/auth.py", "app/views.py"]
    assert chosen.skipped == [SkippedFile("README.md", "beyond top_n=2 (lower risk score)", "beyond_top_n")]
