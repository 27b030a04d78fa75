"""The registry operator console: every organization's progress, the audit trail, actions."""

from flask import Blueprint

bp = Blueprint("operators", __name__, url_prefix="/operator")

from . import agreement_dates, audit_views, dashboard, organization, outbox_views, uploads  # noqa: E402,F401
