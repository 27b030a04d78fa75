"""The team: invitations, roles, members' readiness, and the invited user's first steps."""

from flask import Blueprint

bp = Blueprint("team", __name__)

from . import accept_views, invite_views, participation_views, passkey_views, review_views, views  # noqa: E402,F401
