"""gunicorn settings for `make run` and deployment: gunicorn's own lines in LOG_FORMAT, tokens
redacted. No access log: the app writes one JSON line per request (cqmr_wizard.request, with
its request id, route and user), which a second line from gunicorn would only repeat.
Use with `gunicorn -c python:cqmr_wizard.gunicorn_conf wsgi:app`."""

accesslog = None
logger_class = "cqmr_wizard.log_redaction.RedactingGunicornLogger"
