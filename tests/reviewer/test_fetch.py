"""Fetching a change into a work tree: from local paths, file:// URLs and a smart-HTTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pr_reviewer import fetch
from pr_reviewer.errors import PermanentError, TransientError
from pr_reviewer.fetch import FetchedChange, HeadMovedError, fetch_change, remove_workdir
from pr_reviewer.settings import ReviewSettings, Secret
from tests.helpers.githttp import GitHttpServer
from tests.helpers.gitrepo import GitRepo, run_git

TOKEN = "SEKRET-TOKEN-123"


@dataclass
class Project:
    """A repository with main and a feature branch that forked before main's last commit."""

    repo: GitRepo
    fork_point: str
    main: str
    feature: str


@pytest.fixture
def project(tmp_path: Path) -> Project:
    repo = GitRepo.init(tmp_path / "project")
    repo.commit("Add app", {"app.py": "print('v1')\n", "README.md": "# app\n"})
    fork_point = repo.commit("Add config", {"config.yaml": "debug: false\n"})
    repo.branch("feature")
    main = repo.commit("Change readme on main", {"README.md": "# app on main\n"})
    repo.checkout("feature")
    repo.commit("Start feature", {"app.py": "print('v2')\n"})
    feature = repo.commit("Finish feature", {"feature.py": "enabled = True\n"})
    repo.checkout("main")
    return Project(repo, fork_point, main, feature)


@pytest.fixture
def hosted(project: Project, tmp_path: Path) -> GitRepo:
    """A bare repository, like GitHub's copy: main, plus refs/pull/7/head whose commits no branch contains."""
    bare = GitRepo.init(tmp_path / "served" / "o" / "r.git", bare=True)
    bare.git("config", "uploadpack.allowFilter", "true")
    project.repo.push(bare, "main", "feature:refs/pull/7/head")
    return bare


@pytest.fixture
def work_parent(tmp_path: Path) -> Path:
    return tmp_path / "reviews"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(repo: str, base: str, head: str, work_parent: Path, **overrides: object) -> ReviewSettings:
    return ReviewSettings(repo=repo, base=base, head=head, workdir=str(work_parent), **overrides)  # type: ignore[arg-type]


def head_of(change: FetchedChange) -> str:
    return run_git(change.workdir, "rev-parse", "HEAD").strip()


def symbolic_head(change: FetchedChange) -> str:
    result = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=change.workdir, capture_output=True, check=False)
    return result.stdout.decode().strip()


def repository_state(repo: GitRepo) -> dict[str, str]:
    return {
        "refs": repo.git("for-each-ref", "--format=%(refname) %(objectname)"),
        "head": repo.git("symbolic-ref", "HEAD"),
        "status": repo.status(),
        "config": (repo.path / ".git" / "config").read_text(),
        "objects": repo.git("count-objects", "-v"),
        "files": "\n".join(sorted(str(path.relative_to(repo.path)) for path in repo.path.rglob("*"))),
    }


# --- local paths ---------------------------------------------------------------------------------


def test_local_path_checks_out_head_detached(project: Project, work_parent: Path) -> None:
    change = fetch_change(settings_for(str(project.repo.path), "main", "feature", work_parent))

    assert change.head_sha == project.feature
    assert change.base_sha == project.fork_point
    assert change.workdir.parent == work_parent
    assert head_of(change) == project.feature
    assert symbolic_head(change) == ""
    assert (change.workdir / "feature.py").read_text() == "enabled = True\n"
    assert (change.workdir / "README.md").read_text() == "# app\n"


def test_local_clone_borrows_objects(project: Project, work_parent: Path) -> None:
    change = fetch_change(settings_for(str(project.repo.path), "main", "feature", work_parent))

    alternates = (change.workdir / ".git" / "objects" / "info" / "alternates").read_text()
    assert alternates.strip() == str((project.repo.path / ".git" / "objects").resolve())
    assert list((change.workdir / ".git" / "objects" / "pack").iterdir()) == []


def test_local_path_accepts_relative_refs_and_shas(project: Project, work_parent: Path) -> None:
    change = fetch_change(settings_for(str(project.repo.path), "feature~2", project.feature[:10], work_parent))

    assert change.base_sha == project.fork_point
    assert change.head_sha == project.feature


def test_user_repository_unchanged_after_review(project: Project, work_parent: Path) -> None:
    project.repo.write("README.md", "uncommitted edit\n")
    before = repository_state(project.repo)

    change = fetch_change(settings_for(str(project.repo.path), "main", "feature", work_parent))
    remove_workdir(change.workdir)

    assert repository_state(project.repo) == before
    assert (project.repo.path / "README.md").read_text() == "uncommitted edit\n"
    assert not change.workdir.exists()


def test_local_pull_ref_is_resolved(project: Project, work_parent: Path) -> None:
    project.repo.update_ref("refs/pull/7/head", project.feature)
    settings = settings_for(str(project.repo.path), "main", "ignored-for-prs", work_parent, pr_number=7)

    change = fetch_change(settings)

    assert change.head_sha == project.feature


def test_missing_base_ref_names_side(project: Project, work_parent: Path) -> None:
    path = str(project.repo.path)

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(path, "no-such-branch", "feature", work_parent))

    assert str(caught.value) == f"ref not found: no-such-branch (base) in {path}"
    assert list(work_parent.iterdir()) == []


def test_missing_head_ref_names_side(project: Project, work_parent: Path) -> None:
    path = str(project.repo.path)

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(path, "main", "main~99", work_parent))

    assert str(caught.value) == f"ref not found: main~99 (head) in {path}"


def test_plain_folder_is_not_a_repository(tmp_path: Path, work_parent: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(str(folder), "main", "HEAD", work_parent))

    assert str(caught.value) == f"not a git repository: {folder}"
    assert list(work_parent.iterdir()) == []


def test_missing_folder_is_not_a_repository(tmp_path: Path, work_parent: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(str(missing), "main", "HEAD", work_parent))

    assert str(caught.value) == f"not a git repository: {missing}"


def test_subfolder_of_repository_is_not_one(project: Project, work_parent: Path) -> None:
    subfolder = project.repo.path / "docs"
    subfolder.mkdir()

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(str(subfolder), "main", "feature", work_parent))

    assert str(caught.value) == f"not a git repository: {subfolder}"


def test_ref_that_looks_like_option_is_rejected(project: Project, work_parent: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(str(project.repo.path), "--output=/tmp/x", "feature", work_parent))

    assert str(caught.value) == "invalid base ref '--output=/tmp/x': give a branch, tag or commit SHA"


def test_refspec_injection_is_rejected(hosted: GitRepo, work_parent: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(hosted.url, "main", "main:refs/heads/evil", work_parent))

    assert str(caught.value) == "invalid head ref 'main:refs/heads/evil': give a branch, tag or commit SHA"


def test_unrelated_histories_have_no_merge_base(project: Project, work_parent: Path) -> None:
    project.repo.git("checkout", "--quiet", "--orphan", "unrelated")
    other = project.repo.commit("Unrelated root", {"other.txt": "x\n"})

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(str(project.repo.path), "main", "unrelated", work_parent))

    assert str(caught.value) == (
        f"no common ancestor: base {project.main[:12]} and head {other[:12]} are unrelated"
    )


def test_work_tree_goes_to_temp_dir_by_default(project: Project) -> None:
    settings = ReviewSettings(repo=str(project.repo.path), base="main", head="feature")

    change = fetch_change(settings)
    try:
        assert change.workdir.name.startswith("review-")
        assert head_of(change) == project.feature
    finally:
        remove_workdir(change.workdir)
    assert not change.workdir.exists()


# --- expected head -------------------------------------------------------------------------------


def test_expected_head_mismatch_raises_head_moved(project: Project, work_parent: Path) -> None:
    stale = project.main
    settings = settings_for(str(project.repo.path), "main", "feature", work_parent, expected_head_sha=stale)

    with pytest.raises(HeadMovedError) as caught:
        fetch_change(settings)

    assert isinstance(caught.value, PermanentError)
    assert str(caught.value) == (
        f"head moved: expected {stale[:12]}, fetched {project.feature[:12]} "
        "(the PR was updated after the review was requested)"
    )
    assert list(work_parent.iterdir()) == []


def test_expected_head_match_passes(project: Project, work_parent: Path) -> None:
    settings = settings_for(
        str(project.repo.path), "main", "feature", work_parent, expected_head_sha=project.feature.upper()
    )

    assert fetch_change(settings).head_sha == project.feature


# --- file:// URLs --------------------------------------------------------------------------------


def test_fork_pull_ref_fetched_from_url(project: Project, hosted: GitRepo, work_parent: Path) -> None:
    assert hosted.git("branch", "--contains", project.feature) == ""
    settings = settings_for(hosted.url, project.main, project.feature, work_parent, pr_number=7)

    change = fetch_change(settings, token=None)

    assert change.head_sha == project.feature
    assert change.base_sha == project.fork_point
    assert head_of(change) == project.feature
    assert (change.workdir / "feature.py").read_text() == "enabled = True\n"
    refs = run_git(change.workdir, "for-each-ref", "--format=%(refname)").split()
    assert refs == ["refs/review/base", "refs/review/head"]


def test_deleted_fork_pull_ref_still_fetched(project: Project, hosted: GitRepo, work_parent: Path) -> None:
    # When a fork is deleted, GitHub keeps refs/pull/N/head in the base repository: no branch anywhere has it.
    project.repo.git("branch", "--quiet", "-D", "feature")
    assert project.repo.git("branch", "--list", "feature") == ""
    settings = settings_for(hosted.url, "main", "unused", work_parent, pr_number=7)

    change = fetch_change(settings)

    assert change.head_sha == project.feature


def test_url_fetch_is_blobless(project: Project, hosted: GitRepo, work_parent: Path) -> None:
    # The README blob that main changed is needed neither at head nor by the diff against the merge base.
    main_readme = hosted.git("rev-parse", "main:README.md").strip()

    change = fetch_change(settings_for(hosted.url, "main", "unused", work_parent, pr_number=7))

    listing = run_git(change.workdir, "rev-list", "--objects", "--missing=print", "--all").split()
    assert f"?{main_readme}" in listing
    assert (change.workdir / "README.md").read_text() == "# app\n"


def test_url_fetch_resolves_relative_refs(project: Project, hosted: GitRepo, work_parent: Path) -> None:
    change = fetch_change(settings_for(hosted.url, "main~1", "main", work_parent))

    assert change.base_sha == project.fork_point
    assert change.head_sha == project.main


def test_url_remote_has_no_fetch_refspec(hosted: GitRepo, work_parent: Path) -> None:
    change = fetch_change(settings_for(hosted.url, "main~1", "main", work_parent))

    remote = run_git(change.workdir, "config", "--get-regexp", "^remote[.]").splitlines()
    assert remote == [
        f"remote.origin.url {hosted.url}",
        "remote.origin.promisor true",
        "remote.origin.partialclonefilter blob:none",
    ]


def test_missing_branch_over_url(hosted: GitRepo, work_parent: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(hosted.url, "main", "no-such-branch", work_parent))

    assert str(caught.value) == f"ref not found: no-such-branch (head) in {hosted.url}"
    assert list(work_parent.iterdir()) == []


def test_missing_pull_ref_over_url(hosted: GitRepo, work_parent: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(hosted.url, "main", "unused", work_parent, pr_number=9))

    assert str(caught.value) == f"ref not found: refs/pull/9/head (head) in {hosted.url}"


def test_unknown_sha_over_url(hosted: GitRepo, work_parent: Path) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(hosted.url, unknown, "main", work_parent))

    assert str(caught.value) == f"ref not found: {unknown} (base) in {hosted.url}"


def test_missing_repository_over_file_url(tmp_path: Path, work_parent: Path) -> None:
    url = (tmp_path / "absent.git").as_uri()

    with pytest.raises(PermanentError) as caught:
        fetch_change(settings_for(url, "main", "main", work_parent))

    assert str(caught.value) == (
        f"repository not found: {url}: fatal: '{tmp_path}/absent.git' does not appear to be a git repository"
    )


# --- credentials ---------------------------------------------------------------------------------


def test_token_in_url_never_leaks_on_failure(
    closed_port: int, work_parent: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"https://x-access-token:{TOKEN}@127.0.0.1:{closed_port}/o/r.git"
    clean_url = f"https://127.0.0.1:{closed_port}/o/r.git"
    configs: list[str] = []
    real_remove = fetch.remove_workdir

    def remove_after_reading_config(path: Path) -> None:
        configs.append((path / ".git" / "config").read_text())
        real_remove(path)

    monkeypatch.setattr(fetch, "remove_workdir", remove_after_reading_config)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TransientError) as caught:
        fetch_change(settings_for(url, "main", "feature", work_parent))

    message = str(caught.value)
    assert message.startswith(f"fetching {clean_url} failed: fatal: unable to access '{clean_url}/': ")
    assert TOKEN not in message
    assert TOKEN not in repr(caught.value.args)
    assert caplog.records != []
    assert TOKEN not in caplog.text
    assert len(configs) == 1
    assert f"url = {clean_url}\n" in configs[0]
    assert TOKEN not in configs[0]
    assert list(work_parent.iterdir()) == []


def test_git_output_is_redacted(closed_port: int, work_parent: Path) -> None:
    # The token doubles as the repository name here, so git's own error text contains it.
    url = f"https://{TOKEN}@127.0.0.1:{closed_port}/{TOKEN}.git"

    with pytest.raises(TransientError) as caught:
        fetch_change(settings_for(url, "main", "feature", work_parent))

    assert str(caught.value).startswith(f"fetching https://127.0.0.1:{closed_port}/***.git failed: ")


@pytest.mark.parametrize("token_source", ["url", "settings", "argument"])
def test_token_reaches_server_as_header(
    token_source: str, hosted: GitRepo, project: Project, tmp_path: Path, work_parent: Path
) -> None:
    with GitHttpServer(tmp_path / "served", credentials=("x-access-token", TOKEN)) as server:
        url = server.url("o/r.git")
        repo = url.replace("http://", f"http://x-access-token:{TOKEN}@") if token_source == "url" else url
        git_token = Secret(TOKEN if token_source == "settings" else "")
        settings = settings_for(repo, "main", "unused", work_parent, pr_number=7, git_token=git_token)

        change = fetch_change(settings, token=Secret(TOKEN) if token_source == "argument" else None)

    assert change.head_sha == project.feature
    assert server.requests != []
    assert {request.authorization for request in server.requests} == {server.expected_authorization()}
    assert all(TOKEN not in request.path for request in server.requests)
    config = (change.workdir / ".git" / "config").read_text()
    assert f"url = {url}\n" in config
    assert TOKEN not in config


def test_missing_token_is_permanent_error(hosted: GitRepo, tmp_path: Path, work_parent: Path) -> None:
    with GitHttpServer(tmp_path / "served", credentials=("x-access-token", TOKEN)) as server:
        url = server.url("o/r.git")

        with pytest.raises(PermanentError) as caught:
            fetch_change(settings_for(url, "main", "main", work_parent))

    assert str(caught.value) == (
        f"authentication required or rejected by {url}: fatal: could not read Username for "
        f"'http://127.0.0.1:{server.port}': terminal prompts disabled (give a token)"
    )


def test_wrong_token_is_permanent_error(hosted: GitRepo, tmp_path: Path, work_parent: Path) -> None:
    with GitHttpServer(tmp_path / "served", credentials=("x-access-token", TOKEN)) as server:
        url = server.url("o/r.git")

        with pytest.raises(PermanentError) as caught:
            fetch_change(settings_for(url, "main", "main", work_parent), token=Secret("WRONG-TOKEN-456"))

    assert str(caught.value).startswith(f"authentication required or rejected by {url}: ")
    assert str(caught.value).endswith("(check the token's access to the repository)")
    assert "WRONG-TOKEN-456" not in str(caught.value)


def test_server_error_is_transient(hosted: GitRepo, tmp_path: Path, work_parent: Path) -> None:
    with GitHttpServer(tmp_path / "served", failing_paths={"/o/": 500}) as server:
        url = server.url("o/r.git")

        with pytest.raises(TransientError) as caught:
            fetch_change(settings_for(url, "main", "main", work_parent))

    assert str(caught.value) == (
        f"fetching {url} failed: fatal: unable to access '{url}/': The requested URL returned error: 500"
    )


def test_unknown_repository_over_http(hosted: GitRepo, tmp_path: Path, work_parent: Path) -> None:
    with GitHttpServer(tmp_path / "served") as server:
        url = server.url("o/absent.git")

        with pytest.raises(PermanentError) as caught:
            fetch_change(settings_for(url, "main", "main", work_parent))

    assert str(caught.value) == f"repository not found: {url}: fatal: repository '{url}/' not found"


def test_closed_port_is_transient(closed_port: int, work_parent: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}/o/r.git"

    with pytest.raises(TransientError) as caught:
        fetch_change(settings_for(url, "main", "main", work_parent))

    assert str(caught.value).startswith(f"fetching {url} failed: fatal: unable to access '{url}/': Failed to connect")


# --- removing work trees -------------------------------------------------------------------------


def test_remove_workdir_ignores_missing_path(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    remove_workdir(tmp_path / "never-created")

    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_remove_workdir_logs_failure(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")

    remove_workdir(not_a_folder)

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"Could not remove the work tree {not_a_folder}: ")
    assert not_a_folder.exists()


def test_settings_subject_hides_url_token() -> None:
    url = f"https://x-access-token:{TOKEN}@github.example/o/r.git"
    settings = ReviewSettings(repo=url, base="main", head="feature")

    assert settings.subject == "https://github.example/o/r.git main..feature"
    assert fetch.url_without_credentials(url) == "https://github.example/o/r.git"
    assert fetch.url_without_credentials("ssh://git@github.example/o/r.git") == "ssh://git@github.example/o/r.git"
    assert fetch.url_without_credentials("/srv/repos/r.git") == "/srv/repos/r.git"
