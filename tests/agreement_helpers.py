"""Helpers for the agreement tests (and for any test that needs agreements signed)."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape
from pathlib import Path

from sqlalchemy import func, select

from cqmr_wizard.agreements import documents
from cqmr_wizard.agreements.services import current_version
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization, Signature
from cqmr_wizard.models.base import utcnow

from .builders import DETAILS, make_organization, make_user, sign_organization_agreement
from .helpers import fresh_code, sign_in, stored_secret

OPA = "/agreements/organization/participation-agreement"
MIHIN = "/agreements/organization/mihin-terms"
AUA = "/agreements/yours/authorized-user-agreement"
USER_TOS = "/agreements/yours/terms-of-service"
CONSENT = "/agreements/consent"
OVERVIEW = "/agreements/organization"
VERIFY = "/agreements/verify"


def load_agreements(app) -> None:
    """Publish the sample agreement texts, as `make run` does."""
    with app.app_context():
        documents.load_samples()


def publish_new_version(app, kind: str, extra: str = "\n\nA clause added in a new version.\n"):
    """Publish changed text for `kind`; return the new version's id."""
    path = documents.SAMPLE_DIRECTORY / f"{kind}.md"
    with app.app_context():
        version = documents.publish(documents.parse_document(path.read_text() + extra, path.name))
        return version.id


def make_signer_org(
    app,
    email: str = "sam@example.org",
    *,
    roles=("admin", "signer"),
    designate: bool = True,
    name: str = "Sam Signer",
) -> tuple[int, int]:
    """A user (with an authenticator) in an organization whose details are confirmed;
    returns (user id, organization id)."""
    user_id = make_user(app, email, full_name=name)
    org_id = make_organization(app, user_id, roles=roles, details_confirmed_at=utcnow(), **DETAILS)
    if designate:
        with app.app_context():
            db.session.get(Organization, org_id).designated_signer_id = user_id
            db.session.commit()
    return user_id, org_id


def hidden_fields(response) -> dict[str, str]:
    """The hidden inputs of a page's form (CSRF token, version id and hash)."""
    html = response.get_data(as_text=True)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def post_form(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """GET the page, then POST its hidden fields with `data` (as a browser would)."""
    shown = client.get(page or url)
    assert shown.status_code == 200, (shown.status_code, shown.location)
    return client.post(url, data={**hidden_fields(shown), **(data or {})}, **kwargs)


def consent(client):
    response = post_form(client, CONSENT, {"consent": "y"})
    assert response.status_code == 302, response.status_code
    return response


def review(client, url: str):
    """Confirm having read the agreement at `url`; lands on its sign page."""
    response = post_form(client, url)
    assert response.status_code == 302 and response.location.endswith("/sign"), response.status_code
    return response


def signed_in_signer(app, client, email: str = "sam@example.org", **kwargs) -> tuple[int, int]:
    user_id, org_id = make_signer_org(app, email, **kwargs)
    response = sign_in(client, email)
    assert response.status_code == 302, response.status_code
    return user_id, org_id


def sign_participation_agreement(app, client, full_name: str = "Sam Signer", title: str = "Director") -> int:
    """As a new signer (`signed_in_signer`), consent, read and sign the participation agreement
    through its pages; returns the signature's id."""
    load_agreements(app)
    signed_in_signer(app, client)
    consent(client)
    review(client, OPA)
    code = fresh_code(app, "sam@example.org", stored_secret(app, "sam@example.org"))
    data = {"full_name": full_name, "title": title, "agree": "y", "code": code}
    response = post_form(client, OPA + "/sign", data)
    assert response.status_code == 302, response.status_code
    with app.app_context():
        return db.session.scalar(select(Signature.id).order_by(Signature.id.desc()).limit(1))


def complete_organization(app, org_id: int, signer_id: int) -> None:
    """Every required task of the organization done, so that its members' own tasks are all the
    gate still asks: connected to OneHealthPort, details confirmed, `signer_id` (a member) made
    its authorized signer, who signs both organization agreements. Its team task also needs an
    administrator and no open invitation: the caller's to arrange."""
    from cqmr_wizard.models import Membership, MembershipRole

    with app.app_context():
        if any(current_version(kind) is None for kind in documents.ORGANIZATION_KINDS):
            documents.load_samples()
        org = db.session.get(Organization, org_id)
        for name, value in DETAILS.items():
            if not getattr(org, name):
                setattr(org, name, value)
        org.details_confirmed_at = utcnow()
        org.ohp_org_id = org.ohp_org_id or f"OHP-{org_id}"
        org.designated_signer_id = signer_id
        membership = db.session.scalar(select(Membership).where(Membership.user_id == signer_id))
        if not membership.has_role("signer"):
            membership.role_rows.append(MembershipRole(role="signer"))
        db.session.commit()
    for kind in documents.ORGANIZATION_KINDS:
        sign_organization_agreement(app, signer_id, kind)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_events(app, event_type: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()
        return [
            {"actor_id": r.actor_id, "organization_id": r.organization_id, **json.loads(r.details)}
            for r in rows
        ]


def attachments(message) -> dict[str, bytes]:
    """A mail's attachments by filename."""
    return {
        part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()
    }


def tiny_pdf(pages: int = 1, padding: int = 0) -> bytes:
    """A real, parseable PDF (made with fpdf2) with `padding` extra bytes of text."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_compression(False)
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(0, 10, f"Signed on paper, page {n + 1}")
        if padding and n == 0:
            pdf.ln(12)
            pdf.set_font("Helvetica", size=1)
            pdf.multi_cell(0, 1, "x " * (padding // 2))
    return bytes(pdf.output())


SAMPLES = Path(documents.SAMPLE_DIRECTORY)
