"""Diff reading and parsing, on real repositories built per test."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from pr_reviewer.diff import parse_diff, read_change
from pr_reviewer.errors import PermanentError
from pr_reviewer.languages import detect_language
from pr_reviewer.model import ChangeKind, DiffLine, FileChange, SkippedFile
from pr_reviewer.settings import ReviewSettings
from tests.helpers.gitrepo import GitRepo

NUMBERS = "".join(f"line {number}\n" for number in range(1, 21))


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "repo")


def review(repo: GitRepo, base: str, head: str, **overrides: object) -> tuple[list[FileChange], list[SkippedFile]]:
    repo.checkout(head)
    settings = ReviewSettings(repo=str(repo.path), base=base, head=head, **overrides)  # type: ignore[arg-type]
    return read_change(repo.path, base, head, settings)


def only(files: list[FileChange]) -> FileChange:
    assert len(files) == 1, [file.path for file in files]
    return files[0]


def test_modified_file_has_exact_line_numbers(repo: GitRepo) -> None:
    base = repo.commit("base", {"app.py": NUMBERS})
    head = repo.commit("edit", {"app.py": NUMBERS.replace("line 2\n", "line two\n").replace("line 18\n", "")})

    files, skipped = review(repo, base, head)

    file = only(files)
    assert skipped == []
    assert (file.path, file.old_path, file.kind, file.language) == ("app.py", None, ChangeKind.MODIFIED, "python")
    assert len(file.hunks) == 2
    first, second = file.hunks
    assert (first.old_start, first.old_count, first.new_start, first.new_count) == (1, 5, 1, 5)
    assert first.lines == [
        DiffLine(" ", "line 1", 1, 1),
        DiffLine("-", "line 2", 2, None),
        DiffLine("+", "line two", None, 2),
        DiffLine(" ", "line 3", 3, 3),
        DiffLine(" ", "line 4", 4, 4),
        DiffLine(" ", "line 5", 5, 5),
    ]
    assert (second.old_start, second.old_count, second.new_start, second.new_count) == (15, 6, 15, 5)
    assert second.header == "line 14"
    assert [line for line in second.lines if line.kind != " "] == [DiffLine("-", "line 18", 18, None)]
    assert file.added_lines == {2}
    assert file.changed_line_count == 3


def test_pure_rename_sets_old_path_and_full_similarity(repo: GitRepo) -> None:
    base = repo.commit("base", {"src/old_name.py": NUMBERS})
    repo.move("src/old_name.py", "lib/new_name.py")
    head = repo.commit("rename")

    file = only(review(repo, base, head)[0])

    assert (file.path, file.old_path, file.kind) == ("lib/new_name.py", "src/old_name.py", ChangeKind.RENAMED)
    assert file.similarity == 100
    assert file.hunks == []


def test_rename_with_edit_keeps_hunk_on_new_path(repo: GitRepo) -> None:
    base = repo.commit("base", {"old.py": NUMBERS})
    repo.move("old.py", "new.py")
    head = repo.commit("rename and edit", {"new.py": NUMBERS.replace("line 10\n", "line ten\n")})

    file = only(review(repo, base, head)[0])

    assert (file.path, file.old_path, file.kind) == ("new.py", "old.py", ChangeKind.RENAMED)
    assert file.similarity == 94
    assert file.added_lines == {10}
    assert [line for line in file.hunks[0].lines if line.kind != " "] == [
        DiffLine("-", "line 10", 10, None),
        DiffLine("+", "line ten", None, 10),
    ]


def test_added_file_counts_every_line_as_added(repo: GitRepo) -> None:
    base = repo.commit("base", {"README.md": "hello\n"})
    head = repo.commit("add", {"pkg/new.go": "package pkg\n\nfunc F() {}\n"})

    file = only(review(repo, base, head)[0])

    assert (file.path, file.old_path, file.kind, file.language) == ("pkg/new.go", None, ChangeKind.ADDED, "go")
    assert (file.old_mode, file.new_mode) == (None, "100644")
    hunk = file.hunks[0]
    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (0, 0, 1, 3)
    assert file.added_lines == {1, 2, 3}
    assert hunk.lines[1] == DiffLine("+", "", None, 2)


def test_deleted_file_is_parsed_then_skipped(repo: GitRepo) -> None:
    base = repo.commit("base", {"gone.py": "a = 1\nb = 2\n", "kept.py": "x = 1\n"})
    head = repo.commit("delete", {"gone.py": None, "kept.py": "x = 2\n"})

    files, skipped = review(repo, base, head)

    assert [file.path for file in files] == ["kept.py"]
    assert skipped == [SkippedFile("gone.py", "deleted (nothing at head to review)", "deleted")]
    parsed = {file.path: file for file in parse_diff(repo.git("diff", base, head))}
    assert parsed["gone.py"].kind is ChangeKind.DELETED
    assert parsed["gone.py"].hunks[0].lines == [DiffLine("-", "a = 1", 1, None), DiffLine("-", "b = 2", 2, None)]


def test_binary_file_is_skipped(repo: GitRepo) -> None:
    base = repo.commit("base", {"logo.png": b"\x89PNG\x00\x01"})
    head = repo.commit("binary", {"logo.png": b"\x89PNG\x00\x02"})

    files, skipped = review(repo, base, head)

    assert files == []
    assert skipped == [SkippedFile("logo.png", "binary file", "binary")]
    parsed = only(parse_diff(repo.git("diff", "--full-index", base, head)))
    assert (parsed.path, parsed.kind, parsed.is_binary, parsed.hunks) == ("logo.png", ChangeKind.MODIFIED, True, [])


def test_mode_only_change_has_modes_and_no_hunks(repo: GitRepo) -> None:
    base = repo.commit("base", {"run.sh": "#!/bin/sh\necho hi\n"})
    repo.chmod("run.sh", 0o755)
    head = repo.commit("make executable")

    file = only(review(repo, base, head)[0])

    assert (file.path, file.kind) == ("run.sh", ChangeKind.MODE_CHANGED)
    assert (file.old_mode, file.new_mode) == ("100644", "100755")
    assert file.hunks == []
    assert file.language == "shell"


def test_missing_final_newline_sets_flag_not_line(repo: GitRepo) -> None:
    base = repo.commit("base", {"notes.txt": "one\ntwo"})
    head = repo.commit("edit", {"notes.txt": "one\nTWO"})

    file = only(review(repo, base, head)[0])

    assert file.no_newline_at_end is True
    assert file.hunks[0].lines == [
        DiffLine(" ", "one", 1, 1),
        DiffLine("-", "two", 2, None),
        DiffLine("+", "TWO", None, 2),
    ]


def test_final_newline_added_clears_flag(repo: GitRepo) -> None:
    base = repo.commit("base", {"notes.txt": "one\ntwo"})
    head = repo.commit("edit", {"notes.txt": "one\ntwo\n"})

    file = only(review(repo, base, head)[0])

    assert file.no_newline_at_end is False
    assert file.hunks[0].lines == [
        DiffLine(" ", "one", 1, 1),
        DiffLine("-", "two", 2, None),
        DiffLine("+", "two", None, 2),
    ]


def test_crlf_lines_lose_carriage_return(repo: GitRepo) -> None:
    base = repo.commit("base", {"win.bat": "@echo off\r\necho one\r\n"})
    head = repo.commit("edit", {"win.bat": "@echo off\r\necho two\r\n"})

    file = only(review(repo, base, head)[0])

    assert file.hunks[0].lines == [
        DiffLine(" ", "@echo off", 1, 1),
        DiffLine("-", "echo one", 2, None),
        DiffLine("+", "echo two", None, 2),
    ]


def test_path_with_spaces(repo: GitRepo) -> None:
    base = repo.commit("base", {"my docs/read me.md": "a\n"})
    head = repo.commit("edit", {"my docs/read me.md": "b\n"})

    file = only(review(repo, base, head)[0])

    assert (file.path, file.kind, file.language) == ("my docs/read me.md", ChangeKind.MODIFIED, "markdown")
    assert file.added_lines == {1}


def test_path_with_spaces_in_mode_only_change(repo: GitRepo) -> None:
    base = repo.commit("base", {"a b/c d.sh": "echo\n"})
    repo.chmod("a b/c d.sh", 0o755)
    head = repo.commit("chmod")

    file = only(review(repo, base, head)[0])

    assert (file.path, file.kind) == ("a b/c d.sh", ChangeKind.MODE_CHANGED)


def test_non_ascii_path(repo: GitRepo) -> None:
    base = repo.commit("base", {"docs/größe.py": "a = 1\n", "文档/说明.md": "旧\n"})
    head = repo.commit("edit", {"docs/größe.py": "a = 2\n", "文档/说明.md": "新\n"})

    files = review(repo, base, head)[0]

    assert [file.path for file in files] == ["docs/größe.py", "文档/说明.md"]
    assert files[1].hunks[0].lines == [DiffLine("-", "旧", 1, None), DiffLine("+", "新", None, 1)]


def test_c_quoted_paths_are_decoded(repo: GitRepo) -> None:
    base = repo.commit("base", {'tab\there "quoted".py': "a = 1\n", "plain.py": "p = 1\n"})
    repo.move("plain.py", 'back\\slash ü.py')
    head = repo.commit("edit", {'tab\there "quoted".py': "a = 2\n"})

    files = review(repo, base, head)[0]

    by_path = {file.path: file for file in files}
    assert set(by_path) == {'tab\there "quoted".py', "back\\slash ü.py"}
    assert by_path['tab\there "quoted".py'].added_lines == {1}
    assert by_path["back\\slash ü.py"].old_path == "plain.py"


def test_removed_lines_that_look_like_headers_stay_lines(repo: GitRepo) -> None:
    base = repo.commit("base", {"sql.sql": "-- comment\n++ odd\nselect 1;\n"})
    head = repo.commit("edit", {"sql.sql": "+++ plus\nselect 1;\n"})

    file = only(review(repo, base, head)[0])

    assert file.hunks[0].lines == [
        DiffLine("-", "-- comment", 1, None),
        DiffLine("-", "++ odd", 2, None),
        DiffLine("+", "+++ plus", None, 1),
        DiffLine(" ", "select 1;", 3, 2),
    ]


def test_submodule_pointer_change_is_skipped(repo: GitRepo, tmp_path: Path) -> None:
    library = GitRepo.init(tmp_path / "library")
    first = library.commit("one")
    second = library.commit("two")
    repo.set_gitlink("deps/library", first)
    base = repo.commit("add submodule", {"main.py": "x = 1\n"})
    repo.set_gitlink("deps/library", second)
    head = repo.commit("bump submodule")

    files, skipped = review(repo, base, head)

    assert files == []
    assert skipped == [SkippedFile("deps/library", "submodule pointer change", "submodule")]
    parsed = only(parse_diff(repo.git("diff", "--full-index", base, head)))
    assert (parsed.path, parsed.kind, parsed.new_mode) == ("deps/library", ChangeKind.SUBMODULE, "160000")


def test_skip_globs_list_each_file_with_pattern(repo: GitRepo) -> None:
    base = repo.commit("base", {"app.py": "a = 1\n"})
    head = repo.commit(
        "noise",
        {
            "app.py": "a = 2\n",
            "web/yarn.lock": "lock\n",
            "vendor/lib/x.go": "package x\n",
            "api/service_pb2.py": "generated = 1\n",
            "static/app.min.js": "f()\n",
        },
    )

    files, skipped = review(repo, base, head)

    assert [file.path for file in files] == ["app.py"]
    assert skipped == [
        SkippedFile("api/service_pb2.py", "matches skip pattern '*_pb2.py'", "skip_pattern"),
        SkippedFile("static/app.min.js", "matches skip pattern '*.min.js'", "skip_pattern"),
        SkippedFile("vendor/lib/x.go", "matches skip pattern 'vendor/*'", "skip_pattern"),
        SkippedFile("web/yarn.lock", "matches skip pattern '*.lock'", "skip_pattern"),
    ]


def test_custom_skip_globs_replace_defaults(repo: GitRepo) -> None:
    base = repo.commit("base")
    head = repo.commit("add", {"docs/guide.md": "x\n", "yarn.lock": "y\n"})

    files, skipped = review(repo, base, head, skip_globs=("docs/*",))

    assert [file.path for file in files] == ["yarn.lock"]
    assert skipped == [SkippedFile("docs/guide.md", "matches skip pattern 'docs/*'", "skip_pattern")]


def test_file_larger_than_limit_is_skipped(repo: GitRepo) -> None:
    base = repo.commit("base")
    head = repo.commit("add", {"big.py": "x = 1\n" * 20, "small.py": "y = 1\n"})

    files, skipped = review(repo, base, head, max_file_bytes=100)

    assert [file.path for file in files] == ["small.py"]
    assert skipped == [SkippedFile("big.py", "larger than max_file_bytes=100 (120 bytes at head)", "too_large")]


def test_symbolic_link_is_skipped(repo: GitRepo) -> None:
    base = repo.commit("base")
    (repo.path / "passwd.py").symlink_to("/etc/passwd")
    head = repo.commit("link")

    files, skipped = review(repo, base, head)

    assert files == []
    assert skipped == [SkippedFile("passwd.py", "symbolic link", "symlink")]


def test_language_comes_from_shebang_without_extension(repo: GitRepo) -> None:
    base = repo.commit("base")
    head = repo.commit("add", {"bin/deploy": "#!/usr/bin/env bash\nset -e\n", "bin/tool": "#!/usr/bin/python3.11\n"})

    files = review(repo, base, head)[0]

    assert [(file.path, file.language) for file in files] == [("bin/deploy", "shell"), ("bin/tool", "python")]


def test_user_diff_config_does_not_change_output(repo: GitRepo) -> None:
    base = repo.commit("base", {"app.py": "a = 1\n", "sub/x.py": "b = 1\n"})
    head = repo.commit("edit", {"app.py": "a = 2\n", "sub/x.py": "b = 2\n"})
    for key, value in [
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("color.diff", "always"),
        ("diff.external", "false"),
        ("diff.relative", "true"),
        ("diff.renames", "false"),
        ("diff.context", "0"),
        ("core.quotePath", "true"),
    ]:
        repo.git("config", key, value)

    files = review(repo, base, head)[0]

    assert [(file.path, file.added_lines) for file in files] == [("app.py", {1}), ("sub/x.py", {1})]


def test_unknown_commit_raises_permanent_error(repo: GitRepo) -> None:
    head = repo.commit("base", {"a.py": "x\n"})
    missing = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(PermanentError) as caught:
        review(repo, missing, head)

    assert str(caught.value) == f"git diff 0123456789ab..{head[:12]} failed: fatal: bad object {missing}"


def test_parse_treats_empty_hunk_line_as_blank_context() -> None:
    # diff.suppressBlankEmpty drops the space before an empty context line.
    text = (
        "diff --git a/f.py b/f.py\n"
        "index 1111111..2222222 100644\n"
        "--- a/f.py\n"
        "+++ b/f.py\n"
        "@@ -1,3 +1,3 @@ def f():\n"
        "-a\n"
        "+b\n"
        "\n"
        " c\n"
    )

    file = only(parse_diff(text))

    assert file.hunks[0].header == "def f():"
    assert file.hunks[0].lines == [
        DiffLine("-", "a", 1, None),
        DiffLine("+", "b", None, 1),
        DiffLine(" ", "", 2, 2),
        DiffLine(" ", "c", 3, 3),
    ]


def test_parse_reads_hunk_without_counts() -> None:
    text = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -3 +3 @@\n-old\n+new\n"

    hunk = only(parse_diff(text)).hunks[0]

    assert (hunk.old_start, hunk.old_count, hunk.new_start, hunk.new_count) == (3, 1, 3, 1)
    assert hunk.lines == [DiffLine("-", "old", 3, None), DiffLine("+", "new", None, 3)]


def test_parse_rejects_malformed_hunk_header() -> None:
    text = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -a +b @@\n"

    with pytest.raises(ValueError, match=r"^malformed hunk header in the diff of x: '@@ -a \+b @@'$"):
        parse_diff(text)


@pytest.mark.parametrize(
    ("path", "first_line", "language"),
    [
        ("deploy/Dockerfile.prod", None, "dockerfile"),
        ("images/api.Dockerfile", None, "dockerfile"),
        ("CMakeLists.txt", None, "cmake"),
        ("src/Main.KT", None, "kotlin"),
        ("scripts/run", "#!/usr/bin/env -S PYTHONUNBUFFERED=1 python3 -u", "python"),
        ("scripts/run", "#!/bin/sh", "shell"),
        ("scripts/run", "#!/usr/bin/env node", "javascript"),
        ("scripts/run.py", "#!/bin/bash", "python"),
        ("scripts/run", "echo no shebang", None),
        ("data.bin", None, None),
    ],
)
def test_language_detection(path: str, first_line: str | None, language: str | None) -> None:
    assert detect_language(path, first_line) == language


LARGE_TEXT = "value = 'x'  # padding to make the file large\n" * 80_000  # 3.76 MB


def test_large_file_text_is_never_read(repo: GitRepo) -> None:
    base = repo.commit("base", {"small.py": "a = 1\n"})
    head = repo.commit("add", {"big.py": LARGE_TEXT, "small.py": "a = 2\n"})
    repo.checkout(head)
    settings = ReviewSettings(repo=str(repo.path), base=base, head=head, max_file_bytes=10_000)

    tracemalloc.start()
    try:
        files, skipped = read_change(repo.path, base, head, settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [file.path for file in files] == ["small.py"]
    reason = f"larger than max_file_bytes=10000 ({len(LARGE_TEXT)} bytes at head)"
    assert skipped == [SkippedFile("big.py", reason, "too_large")]
    # The patch of big.py alone is larger than the file, so reading it would pass 4 MB.
    assert peak < 500_000


def test_large_file_with_nul_is_binary(repo: GitRepo) -> None:
    base = repo.commit("base")
    head = repo.commit("add", {"model.bin": b"\x00" + b"w" * 5000, "data.txt": b"text\n" * 1000 + b"\x00"})

    files, skipped = review(repo, base, head, max_file_bytes=1000)

    assert files == []
    # git tests only the first 8000 bytes for NUL, so data.txt (NUL at byte 5000) is binary too.
    assert skipped == [
        SkippedFile("data.txt", "binary file", "binary"),
        SkippedFile("model.bin", "binary file", "binary"),
    ]


def test_large_file_binary_at_base_is_binary(repo: GitRepo) -> None:
    base = repo.commit("base", {"blob.dat": b"\x00" * 2000})
    head = repo.commit("edit", {"blob.dat": "text\n" * 400})

    files, skipped = review(repo, base, head, max_file_bytes=1000)

    assert files == []
    assert skipped == [SkippedFile("blob.dat", "binary file", "binary")]


def test_diff_attribute_decides_large_binary(repo: GitRepo) -> None:
    base = repo.commit("base", {".gitattributes": "*.csv -diff\n*.raw diff\n"})
    head = repo.commit("add", {"table.csv": "a,b\n" * 500, "dump.raw": b"\x00" * 2000})

    files, skipped = review(repo, base, head, max_file_bytes=1000)

    assert files == []
    assert skipped == [
        SkippedFile("dump.raw", "larger than max_file_bytes=1000 (2000 bytes at head)", "too_large"),
        SkippedFile("table.csv", "binary file", "binary"),
    ]


def test_batched_pathspecs_keep_renames_together(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    base = repo.commit("base", {"old_name.py": NUMBERS, "gone.py": "x = 1\n", "edit.py": "a = 1\n"})
    repo.move("old_name.py", "new_name.py")
    changed = {
        "new_name.py": NUMBERS.replace("line 3\n", "line three\n"),
        "gone.py": None,
        "edit.py": "a = 2\n",
        "big.py": "y = 2\n" * 500,
        "yarn.lock": "lock\n",
        "[ab].py": "star = 1\n",
        "a.py": "plain = 1\n",
    }
    head = repo.commit("mixed", changed)
    # One path per git call, so a rename is split from its other side unless the batching keeps them.
    monkeypatch.setattr("pr_reviewer.diff._PATHSPEC_BATCH_BYTES", 1)

    files, skipped = review(repo, base, head, max_file_bytes=1000)

    assert [(file.path, file.old_path, file.kind) for file in files] == [
        ("[ab].py", None, ChangeKind.ADDED),
        ("a.py", None, ChangeKind.ADDED),
        ("edit.py", None, ChangeKind.MODIFIED),
        ("new_name.py", "old_name.py", ChangeKind.RENAMED),
    ]
    assert files[3].added_lines == {3}
    assert skipped == [
        SkippedFile("big.py", "larger than max_file_bytes=1000 (3000 bytes at head)", "too_large"),
        SkippedFile("gone.py", "deleted (nothing at head to review)", "deleted"),
        SkippedFile("yarn.lock", "matches skip pattern '*.lock'", "skip_pattern"),
    ]


def test_undecodable_path_in_batched_diff(repo: GitRepo) -> None:
    name = os.fsdecode(b"caf\xe9.py")
    base = repo.commit("base")
    head = repo.commit("add", {name: "coffee = 1\n", "big.py": "y = 2\n" * 500})

    files, skipped = review(repo, base, head, max_file_bytes=1000)

    # git diffed the file under its exact bytes. Its decoded name has U+FFFD, which names no file
    # in the work tree, the same outcome as when the whole change is diffed at once.
    assert files == []
    assert skipped == [
        SkippedFile("big.py", "larger than max_file_bytes=1000 (3000 bytes at head)", "too_large"),
        SkippedFile("caf\ufffd.py", "not found in the work tree at head", "missing_at_head"),
    ]
