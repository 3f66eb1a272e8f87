"""Prometheus metrics of the receiver.

Each app owns its registry. The receiver runs one gunicorn worker process with threads
(see gunicorn_conf.py), so a plain in-process registry counts every request. Multiprocess
mode would need a shared directory and cleanup of dead workers, for no gain on I/O-bound work.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Events are labelled by name only after the signature check, so unsigned requests cannot
# create label values of their choosing.
UNVERIFIED_EVENT = "unverified"
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ReceiverMetrics:
    """Deliveries by event and outcome, and the time taken to respond to them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "pr_receiver_deliveries",
            "Webhook deliveries responded to, by GitHub event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pr_receiver_delivery_duration_seconds",
            "Time from receiving a webhook delivery to responding to it.",
            ["event"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )

    def record(self, event: str, outcome: str, seconds: float) -> None:
        self.deliveries.labels(event=event, outcome=outcome).inc()
        self.latency.labels(event=event).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
