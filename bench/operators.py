"""The operator dashboard with 100 and with 10,000 organizations.

Prints, for each view of the dashboard, the median time with 100 organizations, with 10,000,
and their ratio. Pages paginated in SQL should grow far less than the 100x in data; a filter on
task status reads every organization's facts (statuses are computed, never stored) and the CSV
export writes every row, so those two grow with the data by design."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from cqmr_wizard.audit import GENESIS_HASH, event_link
from cqmr_wizard.audit.keys import newest_key
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Membership, MembershipRole, Organization, User
from cqmr_wizard.models.base import utcnow

from .__main__ import build_app, signed_in_client

SMALL, LARGE = 100, 10_000
REPEAT = 7
PAGES = {
    "first page by name": "/operator/",
    "by last activity": "/operator/?sort=-activity",
    "search": "/operator/?q=clinic+42",
    "stalled 30 days": "/operator/?stalled=30",
    "status filter": "/operator/?task=details&status=IN_PROGRESS",
    "CSV export": "/operator/organizations.csv",
}


def add_organizations(app, start: int, stop: int, state: dict) -> None:
    """Organizations with two members each and one audit event, inserted in bulk."""
    now = utcnow()
    with app.app_context():
        orgs, users, members, roles, events = [], [], [], [], []
        for n in range(start, stop):
            orgs.append(
                {
                    "id": n + 1,
                    "eligibility": "covered_entity",
                    "legal_name": f"Clinic {n}",
                    "tax_id": f"{n:02d}-{n:07d}"[-10:],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for k in range(2):
                uid = 2 * n + k + 1000
                users.append(
                    {
                        "id": uid,
                        "email": f"u{uid}@example.org",
                        "full_name": f"User {uid}",
                        "email_verified_at": now,
                        "created_at": now,
                        "is_operator": False,
                        "failed_sign_in_count": 0,
                    }
                )
                members.append({"id": uid, "organization_id": n + 1, "user_id": uid, "created_at": now})
                roles.append({"membership_id": uid, "role": "admin" if k == 0 else "viewer"})
            event = AuditEvent(
                occurred_at=now.replace(microsecond=0),
                event_type="onboarding.answer_saved",
                organization_id=n + 1,
                details="{}",
                prev_hash=state["last_hash"],
                key_id=newest_key()[0],
            )
            event.hash = event_link(event, newest_key()[1])
            state["last_hash"] = event.hash
            events.append(
                {
                    c: getattr(event, c)
                    for c in (
                        "occurred_at",
                        "event_type",
                        "organization_id",
                        "details",
                        "prev_hash",
                        "hash",
                        "key_id",
                    )
                }
            )
        for model, rows in (
            (Organization, orgs),
            (User, users),
            (Membership, members),
            (MembershipRole, roles),
            (AuditEvent, events),
        ):
            db.session.execute(insert(model.__table__), rows)
        db.session.commit()


def timed(client, path: str) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            operator = User(
                email="bench-operator@example.org",
                full_name="Bench Operator",
                email_verified_at=utcnow(),
                is_operator=True,
            )
            db.session.add(operator)
            db.session.commit()
            operator_id = operator.id
        client = signed_in_client(app, operator_id)
        state = {"last_hash": GENESIS_HASH}
        add_organizations(app, 0, SMALL, state)
        small = {name: timed(client, path) for name, path in PAGES.items()}
        add_organizations(app, SMALL, LARGE, state)
        large = {name: timed(client, path) for name, path in PAGES.items()}
    print(f"\noperator dashboard: {SMALL} vs {LARGE} organizations (median of {REPEAT})")
    print(f"{'view':<20} {SMALL:>9} ms {LARGE:>9} ms {'ratio':>7}")
    for name in PAGES:
        print(
            f"{name:<20} {small[name] * 1000:>12.1f} {large[name] * 1000:>12.1f} "
            f"{large[name] / small[name]:>7.1f}"
        )
    print(
        "the data grows 100x; paginated views should grow far less. The status filter and the "
        "CSV export read every organization by design."
    )


if __name__ == "__main__":
    main()
