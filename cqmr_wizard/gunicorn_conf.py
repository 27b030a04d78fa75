"""gunicorn settings for `make run` and deployment: access log on stdout, tokens redacted.
Use with `gunicorn -c python:cqmr_wizard.gunicorn_conf wsgi:app`."""

accesslog = "-"
logger_class = "cqmr_wizard.log_redaction.RedactingGunicornLogger"
