"""Map a file to its language by file name, extension or shebang line, and group languages by kind.

Language names are lowercase words such as ``python``, ``shell`` and ``dockerfile``.
"""

from __future__ import annotations

import enum
import posixpath
import re


class LanguageKind(enum.StrEnum):
    CODE = "code"
    CONFIG = "config"
    DOCS = "docs"


# Whole file names first, because they carry no extension or a misleading one. Bazel's bare BUILD
# and WORKSPACE are left out: lowercased, "build" is as often a shell script, which the shebang finds.
_BY_FILE_NAME: dict[str, str] = {
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "makefile": "makefile",
    "gnumakefile": "makefile",
    "jenkinsfile": "groovy",
    "vagrantfile": "ruby",
    "gemfile": "ruby",
    "rakefile": "ruby",
    "cmakelists.txt": "cmake",
    "build.bazel": "starlark",
    ".bashrc": "shell",
    ".profile": "shell",
    ".zshrc": "shell",
    ".gitignore": "text",
    ".dockerignore": "text",
    ".gitattributes": "text",
    ".editorconfig": "ini",
    "readme": "text",
    "license": "text",
    "copying": "text",
}

_BY_EXTENSION: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
    ".groovy": "groovy", ".gradle": "groovy",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".cs": "csharp", ".fs": "fsharp", ".swift": "swift", ".m": "objective-c", ".mm": "objective-c",
    ".rb": "ruby", ".php": "php", ".pl": "perl", ".pm": "perl", ".lua": "lua", ".r": "r",
    ".ex": "elixir", ".exs": "elixir", ".erl": "erlang", ".hs": "haskell", ".clj": "clojure", ".dart": "dart",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".ksh": "shell", ".ps1": "powershell",
    ".sql": "sql", ".tf": "terraform", ".tfvars": "terraform", ".hcl": "hcl", ".bzl": "starlark",
    ".vue": "vue", ".svelte": "svelte",
    ".html": "html", ".htm": "html", ".css": "css", ".scss": "scss", ".less": "less",
    ".proto": "protobuf", ".graphql": "graphql", ".gql": "graphql",
    ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".conf": "ini", ".properties": "properties", ".xml": "xml", ".env": "dotenv", ".j2": "jinja", ".jinja": "jinja",
    ".md": "markdown", ".markdown": "markdown", ".rst": "restructuredtext", ".adoc": "asciidoc", ".txt": "text",
    ".tex": "latex",
}  # fmt: skip

# Interpreter names in a shebang line; version suffixes such as python3.11 are stripped before lookup.
_BY_INTERPRETER: dict[str, str] = {
    "python": "python",
    "pypy": "python",
    "sh": "shell",
    "bash": "shell",
    "dash": "shell",
    "zsh": "shell",
    "ksh": "shell",
    "node": "javascript",
    "deno": "typescript",
    "ts-node": "typescript",
    "ruby": "ruby",
    "perl": "perl",
    "php": "php",
    "lua": "lua",
    "pwsh": "powershell",
    "rscript": "r",
}

_CONFIG_LANGUAGES = frozenset(
    {"yaml", "json", "toml", "ini", "properties", "xml", "dotenv", "dockerfile", "makefile", "terraform", "hcl"}
)
_DOCS_LANGUAGES = frozenset({"markdown", "restructuredtext", "asciidoc", "text", "latex"})

_VERSION_SUFFIX = re.compile(r"[\d.]+$")


def detect_language(path: str, first_line: str | None = None) -> str | None:
    """Return the language of ``path``, or None when neither its name nor ``first_line`` (a shebang) identifies it.

    The file name wins over the extension (``Dockerfile``, ``CMakeLists.txt``), the extension over
    the shebang. A ``Dockerfile.prod`` or ``prod.Dockerfile`` is a Dockerfile too.
    """
    name = posixpath.basename(path).lower()
    if name in _BY_FILE_NAME:
        return _BY_FILE_NAME[name]
    if name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "dockerfile"

    extension = posixpath.splitext(name)[1]
    if extension in _BY_EXTENSION:
        return _BY_EXTENSION[extension]

    if first_line is not None:
        return language_from_shebang(first_line)
    return None


def language_from_shebang(line: str) -> str | None:
    """Return the language named by a ``#!`` line such as ``#!/usr/bin/env -S python3 -u``, or None."""
    if not line.startswith("#!"):
        return None

    words = line[2:].split()
    if not words:
        return None
    interpreter = posixpath.basename(words[0])
    if interpreter == "env":
        # env takes options (-S, -i) and VAR=value assignments before the program name.
        programs = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        if not programs:
            return None
        interpreter = posixpath.basename(programs[0])

    interpreter = _VERSION_SUFFIX.sub("", interpreter.lower())
    return _BY_INTERPRETER.get(interpreter)


def language_kind(language: str | None) -> LanguageKind | None:
    """Group a language as code, configuration or documentation; None for an unknown language."""
    if language is None:
        return None
    if language in _DOCS_LANGUAGES:
        return LanguageKind.DOCS
    if language in _CONFIG_LANGUAGES:
        return LanguageKind.CONFIG
    return LanguageKind.CODE
