"""Per-app receiver state, kept in ``app.extensions["pr_receiver"]``."""

import logging
import threading
from dataclasses import dataclass, field

from pr_receiver.config import ReceiverConfig
from pr_receiver.metrics import ReceiverMetrics
from pr_receiver.store import ReviewStore, StoreUnavailable
from pr_receiver.webhook import WebhookHandler

logger = logging.getLogger(__name__)


class ApiOutageLog:
    """Logs Kubernetes API outages seen by probes once when they start and once when they end, not per probe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._is_down = False

    def down(self, endpoint: str, error: StoreUnavailable) -> None:
        with self._lock:
            if not self._is_down:
                logger.warning("%s reports the Kubernetes API as unavailable: %s", endpoint, error)
            self._is_down = True

    def up(self) -> None:
        with self._lock:
            if self._is_down:
                logger.info("The Kubernetes API responds again")
            self._is_down = False


@dataclass
class ReceiverState:
    config: ReceiverConfig
    store: ReviewStore
    metrics: ReceiverMetrics
    handler: WebhookHandler
    outage_log: ApiOutageLog = field(default_factory=ApiOutageLog)
