import pytest
from flask import Flask
from flask.testing import FlaskClient

from pr_receiver.app import create_app
from pr_receiver.config import ReceiverConfig
from tests.receiver.deliveries import SECRET
from tests.receiver.memory_store import MemoryReviewStore


def make_config(**changes: object) -> ReceiverConfig:
    values: dict[str, object] = {"webhook_secret": SECRET.encode("utf-8"), "namespace": "reviews"}
    values.update(changes)
    return ReceiverConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def store() -> MemoryReviewStore:
    return MemoryReviewStore()


@pytest.fixture
def app(store: MemoryReviewStore) -> Flask:
    return create_app(make_config(), store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
