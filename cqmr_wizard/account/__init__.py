""" "Your account": the person's OneHealthPort link, two-step verification and sessions."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from . import views  # noqa: E402,F401
