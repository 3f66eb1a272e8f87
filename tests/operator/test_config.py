import pytest

from pr_operator.config import ConfigError, OperatorConfig


def test_defaults_match_the_documented_values():
    config = OperatorConfig.from_env({"REVIEW_NAMESPACE": "reviews"})

    assert config.namespace == "reviews"
    assert config.max_active_reviews == 3
    assert config.max_active_reviews_per_repository == 0
    assert config.active_deadline_seconds == 1800
    assert config.backoff_limit == 2
    assert config.ttl_seconds_after_finished == 3600
    assert config.retention_seconds == 604800


def test_environment_overrides_defaults():
    config = OperatorConfig.from_env({
        "REVIEW_NAMESPACE": "ns", "MAX_ACTIVE_REVIEWS": "5", "MAX_ACTIVE_REVIEWS_PER_REPOSITORY": "2",
        "REVIEWER_IMAGE": "img:1", "REVIEWER_IMAGE_PULL_POLICY": "Never", "REVIEW_BACKOFF_LIMIT": "0",
        "GITHUB_SECRET_NAME": "gh", "LLM_SECRET_NAME": "llm", "REVIEWER_ENV_CONFIGMAP": "cm",
    })

    assert config.max_active_reviews == 5
    assert config.max_active_reviews_per_repository == 2
    assert config.reviewer_image == "img:1"
    assert config.reviewer_image_pull_policy == "Never"
    assert config.backoff_limit == 0
    assert (config.github_secret_name, config.llm_secret_name, config.reviewer_env_configmap) == ("gh", "llm", "cm")


def test_non_integer_limit_is_rejected():
    with pytest.raises(ConfigError, match="MAX_ACTIVE_REVIEWS='three' is not an integer"):
        OperatorConfig.from_env({"MAX_ACTIVE_REVIEWS": "three"})


def test_zero_limit_is_rejected():
    with pytest.raises(ConfigError, match="MAX_ACTIVE_REVIEWS=0 is too small"):
        OperatorConfig.from_env({"MAX_ACTIVE_REVIEWS": "0"})


def test_unknown_pull_policy_is_rejected():
    with pytest.raises(ConfigError, match="REVIEWER_IMAGE_PULL_POLICY='Sometimes' is invalid"):
        OperatorConfig.from_env({"REVIEWER_IMAGE_PULL_POLICY": "Sometimes"})


def test_bad_reconcile_interval_is_rejected():
    with pytest.raises(ConfigError, match="RECONCILE_INTERVAL_SECONDS='soon' is not a number"):
        OperatorConfig.from_env({"RECONCILE_INTERVAL_SECONDS": "soon"})
