"""gunicorn settings for `make run` and deployment: gunicorn's own lines in LOG_FORMAT, tokens
redacted, and Prometheus counters shared by the workers. No access log: the app writes one JSON
line per request (cqmr_wizard.request, with its request id, route and user), which a second line
from gunicorn would only repeat.
Use with `gunicorn -c python:cqmr_wizard.gunicorn_conf wsgi:app`.

Each worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR (default: a folder in the
instance folder), which the scrape of any worker adds up (cqmr_wizard/ops/metrics.py).
prometheus_client picks that mode when it is first imported, so the variable is set here, in
the master, before any worker imports the app."""

import os
from pathlib import Path

accesslog = None
logger_class = "cqmr_wizard.log_redaction.RedactingGunicornLogger"

# The same instance folder create_app uses. Handed to the workers through gunicorn's `raw_env`
# (the master sets it before any worker imports the app), not by changing this process's
# environment when this file is imported: a program that imports every module (a test) would
# otherwise hand a metrics folder to every subprocess it starts.
_INSTANCE = os.environ.get("CQMR_INSTANCE_PATH", str(Path(__file__).resolve().parent.parent / "instance"))
METRICS_FOLDER = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(Path(_INSTANCE) / "prometheus-multiproc")
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={METRICS_FOLDER}"]


def on_starting(server) -> None:
    """When the master starts: an empty metrics folder (a previous run's counts would be added
    to this run's, and a dead worker's files would never be cleaned)."""
    folder = Path(METRICS_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """A worker exited: its live gauges stop counting (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
