"""The built-in offline analyzers by name, as ``settings.analyzers`` lists them."""

from __future__ import annotations

from collections.abc import Callable

from pr_reviewer.analyzers.bandit import BanditAnalyzer
from pr_reviewer.analyzers.base import Analyzer
from pr_reviewer.analyzers.ruff import RuffAnalyzer
from pr_reviewer.analyzers.secrets import SecretsAnalyzer
from pr_reviewer.analyzers.shellcheck import ShellcheckAnalyzer
from pr_reviewer.errors import PermanentError
from pr_reviewer.settings import BUILTIN_ANALYZERS, ReviewSettings

# The LLM analyzer needs an endpoint and is built by the review graph, not here.
LLM_ANALYZER = "llm"

_FACTORIES: dict[str, Callable[[], Analyzer]] = {
    "secrets": SecretsAnalyzer,
    "ruff": RuffAnalyzer,
    "bandit": BanditAnalyzer,
    "shellcheck": ShellcheckAnalyzer,
}


def builtin_analyzers(settings: ReviewSettings) -> list[Analyzer]:
    """Build the built-in analyzers ``settings.analyzers`` names, in that order, skipping ``llm``."""
    analyzers = []
    for name in settings.analyzers:
        if name == LLM_ANALYZER:
            continue
        factory = _FACTORIES.get(name)
        if factory is None:
            known = ", ".join((*BUILTIN_ANALYZERS, LLM_ANALYZER))
            raise PermanentError(f"unknown analyzer {name!r}: expected some of {known}")
        analyzers.append(factory())
    return analyzers
