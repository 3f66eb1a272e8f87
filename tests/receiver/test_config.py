from pathlib import Path

import pytest

from pr_receiver import config as config_module
from pr_receiver.config import ConfigError, load_config

SECRET_ENV = {"WEBHOOK_SECRET": "hunter2-webhook"}
SECONDS = "use a positive number of seconds"


@pytest.fixture(autouse=True)
def no_service_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(config_module, "SERVICE_ACCOUNT_NAMESPACE_FILE", tmp_path / "absent")


def test_defaults_follow_contract() -> None:
    config = load_config(SECRET_ENV)
    assert config.webhook_secret == b"hunter2-webhook"
    assert config.skip_signature is False
    assert config.namespace == "default"
    assert config.allowed_repositories == frozenset()
    assert config.review_actions == {"opened", "synchronize", "reopened", "ready_for_review"}
    assert config.review_drafts is False
    assert config.max_body_bytes == 26214400
    assert config.kube_api_timeout_seconds == 3.0
    assert config.max_active_reviews == 3


def test_missing_secret_is_rejected_naming_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({})
    assert str(caught.value).startswith("WEBHOOK_SECRET is not set: set it to the secret configured on the GitHub")
    assert "RECEIVER_INSECURE_SKIP_SIGNATURE=true" in str(caught.value)


def test_insecure_flag_allows_missing_secret() -> None:
    config = load_config({"RECEIVER_INSECURE_SKIP_SIGNATURE": "true"})
    assert config.skip_signature is True
    assert config.webhook_secret is None


def test_secret_stays_out_of_repr() -> None:
    assert "hunter2" not in repr(load_config(SECRET_ENV))


def test_values_are_read() -> None:
    config = load_config({
        **SECRET_ENV,
        "REVIEW_NAMESPACE": "reviews",
        "ALLOWED_REPOSITORIES": "Lumen-Labs/orbit-api, lumen-labs/ground-station",
        "REVIEW_ACTIONS": "opened,labeled",
        "REVIEW_DRAFTS": "true",
        "MAX_BODY_BYTES": "1024",
        "KUBE_API_TIMEOUT_SECONDS": "0.5",
        "MAX_ACTIVE_REVIEWS": "5",
    })
    assert config.namespace == "reviews"
    assert config.allowed_repositories == {"lumen-labs/orbit-api", "lumen-labs/ground-station"}
    assert config.review_actions == {"opened", "labeled"}
    assert config.review_drafts is True
    assert config.max_body_bytes == 1024
    assert config.kube_api_timeout_seconds == 0.5
    assert config.max_active_reviews == 5


def test_namespace_falls_back_to_service_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text("pr-reviewer\n")
    monkeypatch.setattr(config_module, "SERVICE_ACCOUNT_NAMESPACE_FILE", namespace_file)
    assert load_config(SECRET_ENV).namespace == "pr-reviewer"


def test_allow_list_ignores_case() -> None:
    config = load_config({**SECRET_ENV, "ALLOWED_REPOSITORIES": "lumen-labs/orbit-api"})
    assert config.repository_is_allowed("Lumen-Labs/Orbit-API")
    assert not config.repository_is_allowed("lumen-labs/other")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_BODY_BYTES", "25MiB", "MAX_BODY_BYTES='25MiB' is invalid: use a positive integer"),
        ("MAX_ACTIVE_REVIEWS", "0", "MAX_ACTIVE_REVIEWS='0' is invalid: use a positive integer"),
        ("KUBE_API_TIMEOUT_SECONDS", "-1", f"KUBE_API_TIMEOUT_SECONDS='-1' is invalid: {SECONDS}"),
        ("KUBE_API_TIMEOUT_SECONDS", "nan", f"KUBE_API_TIMEOUT_SECONDS='nan' is invalid: {SECONDS}"),
        ("REVIEW_DRAFTS", "maybe", "REVIEW_DRAFTS='maybe' is invalid: use true or false"),
        (
            "ALLOWED_REPOSITORIES",
            "lumen-labs/orbit-api,orbit-api",
            "ALLOWED_REPOSITORIES contains invalid entries ['orbit-api']: use owner/name, comma-separated",
        ),
    ],
)
def test_invalid_value_is_rejected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({**SECRET_ENV, name: value})
    assert str(caught.value) == message


def test_unknown_review_action_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({**SECRET_ENV, "REVIEW_ACTIONS": "opened,closed"})
    assert str(caught.value).startswith("REVIEW_ACTIONS='opened,closed' is invalid: use a comma list of opened,")
