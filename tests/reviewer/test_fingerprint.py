"""Finding fingerprints: stable across line shifts, distinct for distinct text."""

from __future__ import annotations

import re
from pathlib import Path

from pr_reviewer.fingerprint import assign_fingerprints, fingerprint_of, normalize_line
from pr_reviewer.model import Finding, Severity

SOURCE = (
    "import yaml\n"
    "\n"
    "\n"
    "def load(text):\n"
    "    return yaml.load(text)\n"
)


def finding(line: int, path: str = "loader.py", rule: str = "B506", analyzer: str = "bandit") -> Finding:
    return Finding(path, line, Severity.MEDIUM, analyzer, rule, "unsafe yaml load")


def fingerprint_at(workdir: Path, content: str, line: int, **fields: str) -> str:
    (workdir / "loader.py").write_text(content, encoding="utf-8")
    item = finding(line, **fields)
    assign_fingerprints([item], workdir)
    return item.fingerprint


def test_fingerprint_is_sixteen_hex_characters(tmp_path: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint_at(tmp_path, SOURCE, 5))


def test_fingerprint_survives_lines_inserted_above(tmp_path: Path) -> None:
    before = fingerprint_at(tmp_path, SOURCE, 5)
    after = fingerprint_at(tmp_path, "# a new header comment\nimport os\n" + SOURCE, 7)

    assert after == before


def test_fingerprint_survives_reindentation(tmp_path: Path) -> None:
    before = fingerprint_at(tmp_path, SOURCE, 5)
    after = fingerprint_at(tmp_path, SOURCE.replace("    return yaml.load(text)", "\treturn  yaml.load(text)  "), 5)

    assert after == before


def test_fingerprint_changes_with_line_text(tmp_path: Path) -> None:
    before = fingerprint_at(tmp_path, SOURCE, 5)
    after = fingerprint_at(tmp_path, SOURCE.replace("yaml.load(text)", "yaml.load(text.strip())"), 5)

    assert after != before


def test_fingerprint_changes_with_rule_analyzer_and_path(tmp_path: Path) -> None:
    base = fingerprint_at(tmp_path, SOURCE, 5)

    assert fingerprint_at(tmp_path, SOURCE, 5, rule="B301") != base
    assert fingerprint_at(tmp_path, SOURCE, 5, analyzer="llm") != base
    (tmp_path / "other.py").write_text(SOURCE, encoding="utf-8")
    moved = finding(5, path="other.py")
    assign_fingerprints([moved], tmp_path)
    assert moved.fingerprint != base


def test_repeated_text_gets_distinct_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "loader.py").write_text(SOURCE + "\n\ndef again(text):\n    return yaml.load(text)\n", encoding="utf-8")
    first, second = finding(5), finding(9)

    assign_fingerprints([second, first], tmp_path)

    assert first.fingerprint != second.fingerprint
    assert first.fingerprint == fingerprint_at(tmp_path, SOURCE, 5)


def test_repeated_text_keeps_fingerprints_when_shifted(tmp_path: Path) -> None:
    doubled = SOURCE + "\n\ndef again(text):\n    return yaml.load(text)\n"
    (tmp_path / "loader.py").write_text(doubled, encoding="utf-8")
    before = [finding(5), finding(9)]
    assign_fingerprints(before, tmp_path)

    (tmp_path / "loader.py").write_text("# header\n" + doubled, encoding="utf-8")
    after = [finding(6), finding(10)]
    assign_fingerprints(after, tmp_path)

    assert [item.fingerprint for item in after] == [item.fingerprint for item in before]


def test_missing_file_hashes_empty_text(tmp_path: Path) -> None:
    item = finding(3, path="deleted.py")

    assign_fingerprints([item], tmp_path)

    assert item.fingerprint == fingerprint_of("deleted.py", "bandit", "B506", "", occurrence=0)


def test_path_outside_work_tree_is_not_read(tmp_path: Path) -> None:
    workdir = tmp_path / "head"
    workdir.mkdir()
    (tmp_path / "outside.py").write_text(SOURCE, encoding="utf-8")
    escaping = finding(5, path="../outside.py")

    assign_fingerprints([escaping], workdir)

    assert escaping.fingerprint == fingerprint_of("../outside.py", "bandit", "B506", "", occurrence=0)


def test_normalize_line_collapses_whitespace() -> None:
    assert normalize_line("  \treturn   yaml.load( text )\r ") == "return yaml.load( text )"
