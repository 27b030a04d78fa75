"""The registry operator console: every organization's progress, the audit trail, actions."""

from flask import Blueprint

bp = Blueprint("operators", __name__, url_prefix="/operator")

# The view modules register their routes on `bp` (imported after it exists).
from . import agreement_dates, audit_views, dashboard, organization  # noqa: E402,F401,I001
from . import outbox_views, participation_views, uploads  # noqa: E402,F401
