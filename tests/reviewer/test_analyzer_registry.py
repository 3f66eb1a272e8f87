"""Building the built-in analyzers from ``settings.analyzers``."""

from __future__ import annotations

import pytest

from pr_reviewer.analyzers.registry import builtin_analyzers
from pr_reviewer.errors import PermanentError
from pr_reviewer.settings import BUILTIN_ANALYZERS, ReviewSettings


def settings(*names: str) -> ReviewSettings:
    return ReviewSettings(repo="/tmp/repo", base="main", head="topic", analyzers=names)


def test_default_settings_build_every_builtin_analyzer() -> None:
    default = ReviewSettings(repo="/tmp/repo", base="main", head="topic")

    assert [analyzer.name for analyzer in builtin_analyzers(default)] == list(BUILTIN_ANALYZERS)


def test_analyzers_follow_settings_order() -> None:
    analyzers = builtin_analyzers(settings("shellcheck", "secrets"))

    assert [analyzer.name for analyzer in analyzers] == ["shellcheck", "secrets"]


def test_llm_is_left_to_the_graph() -> None:
    analyzers = builtin_analyzers(settings("llm", "ruff"))

    assert [analyzer.name for analyzer in analyzers] == ["ruff"]


def test_no_names_build_no_analyzers() -> None:
    assert builtin_analyzers(settings()) == []


def test_unknown_analyzer_is_rejected() -> None:
    with pytest.raises(PermanentError) as raised:
        builtin_analyzers(settings("ruff", "pylint"))

    assert str(raised.value) == "unknown analyzer 'pylint': expected some of secrets, ruff, bandit, shellcheck, llm"
