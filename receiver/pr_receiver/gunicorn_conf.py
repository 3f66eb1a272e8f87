"""gunicorn settings for the receiver; ``RECEIVER_BIND`` and ``RECEIVER_THREADS`` override two of them.

One worker process with threads: the work is I/O-bound (one Kubernetes API call per delivery),
and one process keeps the Prometheus registry in one place. Scale with more replicas.
"""

import os

bind = os.environ.get("RECEIVER_BIND", "0.0.0.0:8080")
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("RECEIVER_THREADS", "8"))
# A request makes at most a few API calls of KUBE_API_TIMEOUT_SECONDS each; 30 s bounds a stuck one.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
