"""Issue 23: the metrics of a real two-worker gunicorn (the package's gunicorn config) add up
across its workers, and the database's gauges reflect the rows the test wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from cqmr_wizard.audit import verifications
from cqmr_wizard.extensions import db
from cqmr_wizard.models import OutboxMessage, ProvisioningState
from cqmr_wizard.models.base import utcnow

from .browser import PASSED_SETTINGS, ROOT
from .builders import make_organization, make_user
from .helpers import free_port

TOKEN = "scrape-token-for-the-two-worker-test"
REQUESTS = 60


def start(app, tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    settings = {k: app.config[k] for k in PASSED_SETTINGS if k in app.config} | {"METRICS_TOKEN": TOKEN}
    (instance / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    log = tmp_path / "gunicorn.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2"]
        + [
            "-c",
            "python:cqmr_wizard.gunicorn_conf",
            "wsgi:app",
        ],
        cwd=ROOT,
        env={**env, "CQMR_INSTANCE_PATH": str(instance)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}", log


def served_by(log: Path, path: str) -> set[int]:
    """The pids of the workers whose request log line (one JSON object a line) names `path`."""
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return {line["pid"] for line in lines if line.get("logger") == "cqmr_wizard.request" and line.get("path") == path}


def wait_for_both_workers(process: subprocess.Popen, url: str, log: Path) -> None:
    """Until each worker has answered a liveness probe (the second may boot a little later)."""
    deadline = time.monotonic() + 60
    while len(served_by(log, "/healthz")) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start two workers:\n{log.read_text()[-3000:]}")
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: requests.get(url + "/healthz", timeout=2), range(4)))
        except requests.RequestException:
            time.sleep(0.3)


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def write_rows(app) -> None:
    """Outbox messages (two due, one due later, one given up) and provisioning states."""
    first, second = make_user(app, "a@example.org", mfa=False), make_user(app, "b@example.org", mfa=False)
    org_id = make_organization(app, first)
    now = utcnow()
    message = {"kind": "mail", "payload": "{}", "summary": "", "attempts": 1, "created_at": now}
    member = {
        "organization_id": org_id,
        "desired_digest": "0" * 64,
        "desired_active": True,
        "changed_at": now,
    }
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            insert(OutboxMessage.__table__),
            [
                {**message, "status": "pending", "next_attempt_at": now - timedelta(minutes=20)},
                {**message, "status": "pending", "next_attempt_at": now - timedelta(minutes=5)},
                {**message, "status": "pending", "next_attempt_at": now + timedelta(hours=1)},
                {**message, "status": "failed", "next_attempt_at": now - timedelta(hours=2)},
            ],
        )
        conn.execute(
            insert(ProvisioningState.__table__),
            [
                {**member, "user_id": first, "user_name": "sub-a", "state": "failed"},
                {**member, "user_id": second, "user_name": "sub-b", "state": "provisioned"},
            ],
        )


def test_two_workers_metrics_add_up_and_the_gauges_read_the_database(app_factory, tmp_path):
    app = app_factory()
    stale = tmp_path / "instance" / "prometheus-multiproc" / "counter_1.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a previous run's counts")
    process, url, log = start(app, tmp_path)
    try:
        wait_for_both_workers(process, url, log)
        assert not stale.exists()  # emptied when the master started
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda _: requests.get(url + "/help", timeout=10).status_code, range(REQUESTS))
            )
        assert statuses == [200] * REQUESTS
        assert len(served_by(log, "/help")) == 2, "both workers served the page"

        samples = scrape(url)
        help_counts = {
            labels: v
            for (name, labels), v in samples.items()
            if name == "cqmr_http_requests_total" and ("route", "/help") in labels
        }
        assert help_counts == {(("method", "GET"), ("route", "/help"), ("status", "200")): REQUESTS}
        timed = ("cqmr_http_request_duration_seconds_count", (("method", "GET"), ("route", "/help")))
        assert samples[timed] == REQUESTS
        assert samples[("cqmr_outbox_depth", (("kind", "mail"),))] == 0
        assert samples[("cqmr_audit_last_verified_age_seconds", ())] == float("inf")

        write_rows(app)
        with app.app_context():
            assert verifications.verify_all().ok
        samples = scrape(url)
        assert samples[("cqmr_database_up", ())] == 1
        assert samples[("cqmr_outbox_depth", (("kind", "mail"),))] == 3
        assert 20 * 60 <= samples[("cqmr_outbox_oldest_due_seconds", (("kind", "mail"),))] < 25 * 60
        assert samples[("cqmr_outbox_failed", (("kind", "mail"),))] == 1
        assert samples[("cqmr_outbox_depth", (("kind", "scim"),))] == 0
        assert samples[("cqmr_outbox_oldest_due_seconds", (("kind", "scim"),))] == 0
        members = {
            dict(labels)["state"]: v
            for (name, labels), v in samples.items()
            if name == "cqmr_provisioning_members"
        }
        assert members == {"pending": 0, "provisioned": 1, "failed": 1}
        assert 0 <= samples[("cqmr_audit_last_verified_age_seconds", ())] < 60
    finally:
        process.terminate()
        process.wait(timeout=15)
