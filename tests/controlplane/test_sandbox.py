"""``pr-sandbox`` with the real receiver and ``pr-review-job`` (dry run), driven by ``kubesim.send_webhook``."""

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.controlplane.conftest import free_ports, wait_for
from tests.helpers.gitrepo import GitRepo


def port_is_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_sandbox_reviews_a_local_pull_request(tmp_path):
    repo = GitRepo.init(tmp_path / "demo")
    repo.write("app.py", "def total(items):\n    return sum(items)\n")
    repo.commit("Add total")
    repo.branch("feature")
    repo.checkout("feature")
    changed = "import subprocess\n\ndef total(items):\n    subprocess.call(items, shell=True)\n    return 0\n"
    repo.write("app.py", changed)
    repo.commit("Run items in a shell")

    state = tmp_path / "state"
    # Both ports are chosen here: with --api-port 0 the OS could hand the API server the receiver's port.
    api_port, receiver_port = free_ports(2)
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "kubesim.sandbox", "--state-dir", str(state),
         "--receiver-port", str(receiver_port), "--api-port", str(api_port)],
        stdout=(tmp_path / "sandbox.out").open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        env_file = state / "env"
        wait_for(env_file.is_file, timeout=30, what="the sandbox's env file")
        env_text = env_file.read_text()
        assert f"export RECEIVER_URL=http://127.0.0.1:{receiver_port}\n" in env_text
        assert f"export KUBECONFIG={state / 'kubeconfig'}\n" in env_text
        api_url = yaml.safe_load((state / "kubeconfig").read_text())["clusters"][0]["cluster"]["server"]
        api_port = int(api_url.rsplit(":", 1)[1])

        sent = subprocess.run(
            [sys.executable, "-m", "kubesim.send_webhook", str(repo.path), "--base", "main", "--head", "feature",
             "--pr", "5", "--full-name", "octo/demo", "--env-file", str(env_file)],
            capture_output=True, text=True, check=False,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "HTTP 202" in sent.stdout

        reviews = f"{api_url}/apis/prreviewer.io/v1alpha1/namespaces/default/prreviews"

        def finished_review():
            items = httpx.get(reviews).json()["items"]
            done = [i for i in items if (i.get("status") or {}).get("phase") in ("Succeeded", "Failed")]
            return done[0] if done else None

        review = wait_for(finished_review, timeout=60, what="the review to finish")
        assert review["spec"]["repository"] == "octo/demo"
        assert review["spec"]["prNumber"] == 5
        assert review["status"]["phase"] == "Succeeded", review["status"]
        assert review["status"]["result"]["total"] >= 1
        assert review["status"]["result"]["partial"] is False
    finally:
        sandbox.send_signal(signal.SIGINT)
        exit_code = sandbox.wait(timeout=30)

    output = (tmp_path / "sandbox.out").read_text()
    assert exit_code == 0, output
    assert "Stopped the apiserver." in output
    assert not port_is_open(receiver_port)
    assert not port_is_open(api_port)
    assert Path(state / "logs" / "operator.log").is_file()


def test_sandbox_refuses_a_receiver_port_in_use(tmp_path):
    api_port, receiver_port = free_ports(2)
    with socket.socket() as squatter:
        # Another program holds the receiver's port: it accepts connections but is not the receiver.
        squatter.bind(("127.0.0.1", receiver_port))
        squatter.listen()
        completed = subprocess.run(
            [sys.executable, "-m", "kubesim.sandbox", "--state-dir", str(tmp_path / "state"),
             "--receiver-port", str(receiver_port), "--api-port", str(api_port)],
            capture_output=True, text=True, timeout=90, check=False,
        )

    assert completed.returncode == 1
    assert "the receiver exited with code" in completed.stderr + completed.stdout
    assert not (tmp_path / "state" / "env").exists()
    assert not port_is_open(api_port)
