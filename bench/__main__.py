"""Run every benchmark: `python -m bench` (or `make bench`).

Each benchmark times a page for a small and a large organization and against a baseline
page measured in the same run, and prints the ratios with the targets they should meet.
Nothing here asserts on seconds; the ratios are what a reviewer reads."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from cryptography.fernet import Fernet

from cqmr_wizard import create_app
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, MembershipRole, Organization, User
from cqmr_wizard.models.base import utcnow

REPEAT = 30


def build_app(tmp: Path):
    app = create_app(
        {
            "TESTING": True,
            "CQMR_ENV": "test",
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "MAIL_OUTBOX": str(tmp / "outbox"),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 64,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def make_org(app, name: str, members: int) -> int:
    """Create an organization with `members` members; return the first (admin) user's id."""
    with app.app_context():
        org = Organization(eligibility="covered_entity", legal_name=name)
        db.session.add(org)
        db.session.flush()
        first = None
        for i in range(members):
            user = User(
                email=f"{name.lower()}-{i}@example.org", full_name=f"Member {i}", email_verified_at=utcnow()
            )
            db.session.add(user)
            db.session.flush()
            member = Membership(organization_id=org.id, user_id=user.id)
            member.role_rows.append(MembershipRole(role="admin" if i == 0 else "viewer"))
            db.session.add(member)
            first = first or user.id
        db.session.commit()
        return first


def signed_in_client(app, user_id: int):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["auth_level"] = "full"
    return client


def timed(client, path: str) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
    return statistics.median(samples)


def peak_memory(client, path: str) -> int:
    tracemalloc.start()
    client.get(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        small = signed_in_client(app, make_org(app, "Small", 2))
        large = signed_in_client(app, make_org(app, "Large", 500))
        anonymous = app.test_client()
        baseline = timed(anonymous, "/help")
        rows = []
        for path in ("/tasks",):
            t_small, t_large = timed(small, path), timed(large, path)
            m_small, m_large = peak_memory(small, path), peak_memory(large, path)
            rows.append((path, t_small / baseline, t_large / t_small, m_large / m_small))
        print(f"baseline GET /help: {baseline * 1000:.2f} ms (median of {REPEAT})")
        print(f"{'page':<12} {'small/baseline':>15} {'large/small time':>17} {'large/small memory':>19}")
        for path, vs_base, time_ratio, mem_ratio in rows:
            print(f"{path:<12} {vs_base:>15.2f} {time_ratio:>17.2f} {mem_ratio:>19.2f}")
        print("targets: large/small time <= 1.5 and memory <= 1.5 (pages do not grow with the organization)")
    from . import operators  # imported here: it borrows build_app and signed_in_client

    operators.main()


if __name__ == "__main__":
    main()
