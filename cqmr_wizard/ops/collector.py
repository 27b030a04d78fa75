"""Gauges read from the database at scrape time, so that they are true across every worker
and host: the outbox, provisioning into the CQMR, and when the audit chain was last verified."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..models import AuditVerification, OutboxMessage, ProvisioningState
from ..models.base import utcnow
from ..models.outbox import FAILED, PENDING
from ..models.provisioning import FAILED as PROVISIONING_FAILED
from ..models.provisioning import PENDING as PROVISIONING_PENDING
from ..models.provisioning import PROVISIONED
from .readiness import bounded_connection

log = logging.getLogger(__name__)

PROVISIONING_STATES = (PROVISIONING_PENDING, PROVISIONED, PROVISIONING_FAILED)


class DatabaseCollector:
    """A prometheus_client collector; `kinds` are the outbox kinds always reported (0 when
    none is waiting), so that an alert rule never meets a missing series."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = sorted(set(kinds))

    def describe(self) -> list[Metric]:
        return []  # registering the collector must not query the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("cqmr_database_up", "1 when the scrape could read the database, else 0.")
        try:
            with bounded_connection() as connection:
                families = list(self._read(connection))
        except Exception:  # a scrape during an outage still answers, and says so
            log.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, connection: Connection) -> Iterator[Metric]:
        now = utcnow()
        counts = connection.execute(
            select(OutboxMessage.kind, OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_((PENDING, FAILED)))
            .group_by(OutboxMessage.kind, OutboxMessage.status)
        ).all()
        oldest = dict(
            connection.execute(
                select(OutboxMessage.kind, func.min(OutboxMessage.next_attempt_at))
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
                .group_by(OutboxMessage.kind)
            ).all()
        )
        kinds = sorted({*self.kinds, *(kind for kind, _, _ in counts)})
        by = {(kind, status): n for kind, status, n in counts}
        depth = GaugeMetricFamily(
            "cqmr_outbox_depth", "Outbox messages waiting to be delivered (pending).", labels=["kind"]
        )
        age = GaugeMetricFamily(
            "cqmr_outbox_oldest_due_seconds",
            "Seconds the oldest pending message has been due without delivery (0: none due).",
            labels=["kind"],
        )
        failed = GaugeMetricFamily(
            "cqmr_outbox_failed",
            "Outbox messages that gave up (failed, for operators to retry).",
            labels=["kind"],
        )
        for kind in kinds:
            depth.add_metric([kind], by.get((kind, PENDING), 0))
            due = oldest.get(kind)
            age.add_metric([kind], max(0.0, (now - due).total_seconds()) if due is not None else 0.0)
            failed.add_metric([kind], by.get((kind, FAILED), 0))
        yield from (depth, age, failed)

        states = dict(
            connection.execute(
                select(ProvisioningState.state, func.count()).group_by(ProvisioningState.state)
            ).all()
        )
        members = GaugeMetricFamily(
            "cqmr_provisioning_members", "People by provisioning state in the CQMR.", labels=["state"]
        )
        for state in sorted({*PROVISIONING_STATES, *states}):
            members.add_metric([state], states.get(state, 0))
        yield members

        verified = connection.scalar(
            select(func.max(AuditVerification.verified_at)).where(
                AuditVerification.full.is_(True), AuditVerification.ok.is_(True)
            )
        )
        yield GaugeMetricFamily(
            "cqmr_audit_last_verified_age_seconds",
            "Seconds since `flask audit verify` last found the whole chain intact (+Inf: never).",
            value=(now - verified).total_seconds() if verified is not None else float("inf"),
        )
