"""WSGI entry point for gunicorn and `flask --app wsgi`."""

from cqmr_wizard import create_app

app = create_app()
