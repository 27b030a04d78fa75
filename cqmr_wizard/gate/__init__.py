"""The final step: "Go to CQMR", open only when every required task is complete."""

from flask import Blueprint

bp = Blueprint("gate", __name__)

from . import views  # noqa: E402,F401
