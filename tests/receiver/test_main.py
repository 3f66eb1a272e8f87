import os
import subprocess
import sys
from pathlib import Path

import pytest

from pr_receiver.app import main

CONSOLE_SCRIPT = Path(sys.executable).with_name("pr-receiver")


def receiver_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("WEBHOOK_SECRET", "KUBECONFIG")}
    env.pop("RECEIVER_INSECURE_SKIP_SIGNATURE", None)
    env.update(values)
    return env


def test_main_refuses_to_start_without_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("RECEIVER_INSECURE_SKIP_SIGNATURE", raising=False)

    assert main([]) == 2
    assert capsys.readouterr().err.startswith("pr-receiver: error: WEBHOOK_SECRET is not set: ")


def test_console_script_exits_without_secret() -> None:
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT), "--bind", "127.0.0.1:0"], env=receiver_env(), capture_output=True, text=True, timeout=30
    )
    assert completed.returncode == 2
    assert "pr-receiver: error: WEBHOOK_SECRET is not set: set it to the secret configured on the GitHub webhook" in (
        completed.stderr
    )


def test_console_script_rejects_invalid_value() -> None:
    completed = subprocess.run(
        [str(CONSOLE_SCRIPT)], env=receiver_env(WEBHOOK_SECRET="x", MAX_ACTIVE_REVIEWS="many"),
        capture_output=True, text=True, timeout=30,
    )
    assert completed.returncode == 2
    assert "pr-receiver: error: MAX_ACTIVE_REVIEWS='many' is invalid: use a positive integer" in completed.stderr
