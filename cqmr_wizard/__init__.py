"""CQMR onboarding wizard: the Flask application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, g
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `test_config` is the last configuration layer."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("CQMR_INSTANCE_PATH", str(ROOT / "instance")),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from .security import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    load_config(app, test_config)
    register_logging(app)
    if app.config.get("PROXY_COUNT"):
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    register_request_metrics(app)  # first: its timer starts before any other hook may answer
    register_outages(app)  # before CSRF and the rate limits, which need the session store
    register_extensions(app)
    register_handlers()
    register_sessions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_commands(app)
    register_templates(app)
    from .errors import register_error_handlers

    register_error_handlers(app)
    return app


def register_request_metrics(app: Flask) -> None:
    from .ops.counting import register_request_metrics as count_requests

    count_requests(app)


def register_outages(app: Flask) -> None:
    from .outages import keep_retry_after, refuse_during_session_outage

    app.before_request(refuse_during_session_outage)
    app.after_request(keep_retry_after)  # after-request hooks run in reverse: after the limiter's


def register_logging(app: Flask) -> None:
    """Log lines in LOG_FORMAT with secrets redacted, and one line per request with its id. The
    request hooks come first, so that every later hook and error page knows the request id."""
    from .log_format import configure
    from .log_redaction import install as redact_logs
    from .request_log import register_request_log

    configure(app.config["LOG_FORMAT"])
    redact_logs()  # every handler of the root logger, which the app's loggers propagate to
    redact_logs(logging.getLogger("gunicorn.error"))
    register_request_log(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    from .db_liveness import ping_when_idle

    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine, float(app.config["DATABASE_PING_AFTER_IDLE"]))
    register_commit_pipeline(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    from . import rate_limit_store  # noqa: F401  (registers the cqmr-database:// limits store)

    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session is the protection

    @login_manager.user_loader
    def load_user(user_id: str):
        from .identity import load_signed_in

        try:
            return load_signed_in(int(user_id))
        except (TypeError, ValueError):
            return None


def register_commit_pipeline(app: Flask) -> None:
    """What every commit does, in this order: bring the progress projection up to date, record
    the organizations that went live, bring the CQMR's wanted state in line with it (each stage
    so far may record audit events), chain the audit events,
    then move the activity times those events changed; after the commit, write the audit
    checkpoint, deliver the outbox messages the transaction wrote, then count the committed
    audit events the metrics derive from."""
    from . import audit, commit_pipeline
    from .audit.guard import install_guard
    from .commit_pipeline import CommitPipeline, Stage
    from .ops.counting import count_committed_events
    from .outbox.dispatch import deliver_committed
    from .outbox.dispatch import install_bookkeeping as note_outbox_rows
    from .provisioning.services import reconcile_at_commit
    from .tasks.lifecycle import go_live
    from .tasks.projection import bring_up_to_date, install_tracking

    install_guard()  # audit rows are append-only: in the ORM, and by PostgreSQL triggers
    install_tracking()  # note each transaction's fact changes for the projection stage
    audit.install_bookkeeping()
    note_outbox_rows()
    pipeline = CommitPipeline(
        before=(
            Stage("projection", bring_up_to_date),
            Stage("going live", go_live),
            Stage("provisioning", reconcile_at_commit),
            Stage("audit chain", audit.append_pending),
            Stage("activity times", bring_up_to_date),
        ),
        after=(
            Stage("audit checkpoint", audit.write_checkpoint_after_commit),
            Stage("outbox delivery", deliver_committed),
            Stage("metrics", count_committed_events),
        ),
        settled=audit.refuse_unchained,
    )
    commit_pipeline.install(app, pipeline)
    register_clock(app)


def register_clock(app: Flask) -> None:
    """What time alone makes due, applied on every clock tick of the outbox deliverer."""
    from .outbox import clock
    from .outbox.dispatch import keep_time
    from .provisioning.services import reconcile_drift
    from .tasks.projection import apply_clock

    clock.register(app, "progress", apply_clock)
    # After the projection's pass: what reached it but not the CQMR (a command run without
    # CQMR_SCIM_URL) is reconciled here.
    clock.register(app, "provisioning", reconcile_drift)
    if app.config["OUTBOX_DELIVERY"] == "background":
        app.before_request(keep_time)


def register_handlers() -> None:
    """What lower layers call without importing upward: each outbox kind's sender."""
    from .outbox.delivery import register_handler
    from .outbox.mail_delivery import deliver_mail
    from .provisioning.scim import deliver as deliver_scim

    register_handler("mail", deliver_mail)
    register_handler("scim", deliver_scim)


def register_sessions(app: Flask) -> None:
    from .ops import SESSIONLESS_PATHS
    from .server_sessions import ServerSessionInterface, make_store

    app.session_interface = ServerSessionInterface(make_store(app), sessionless=SESSIONLESS_PATHS)


def register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .agreements import bp as agreements_bp
    from .auth import bp as auth_bp
    from .gate import bp as gate_bp
    from .main import bp as main_bp
    from .mfa import bp as mfa_bp
    from .onboarding import bp as onboarding_bp
    from .operators import bp as operators_bp
    from .ops import bp as ops_bp
    from .sso import bp as sso_bp
    from .sso.protocol import configure as configure_sso
    from .team import bp as team_bp
    from .training import bp as training_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(team_bp)
    app.register_blueprint(mfa_bp)
    app.register_blueprint(sso_bp)
    app.register_blueprint(gate_bp)
    app.register_blueprint(operators_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(agreements_bp)
    app.register_blueprint(account_bp)
    configure_sso(app)


def register_request_hooks(app: Flask) -> None:
    from .access_hook import enforce_access
    from .request_limits import register_upload_limits
    from .security import register_security

    register_security(app)
    register_upload_limits(app)

    app.before_request(enforce_access)


def register_commands(app: Flask) -> None:
    from .agreements.cli import agreements_cli
    from .audit.cli import audit_cli
    from .mfa.cli import mfa_cli
    from .operators.cli import operators_cli
    from .outbox.cli import outbox_cli
    from .provisioning.cli import provisioning_cli
    from .purge import purge_command
    from .reminders import reminders_cli
    from .tasks.cli import progress_cli

    app.cli.add_command(agreements_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(mfa_cli)
    app.cli.add_command(operators_cli)
    app.cli.add_command(provisioning_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(purge_command)
    app.cli.add_command(progress_cli)


def register_templates(app: Flask) -> None:
    from .access import fully_authenticated
    from .audit.events import label
    from .auth.forms import ConfirmForm
    from .status_tags import register_status_tags
    from .template_filters import register_filters

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["event_label"] = label
    register_filters(app)
    register_status_tags(app)

    @app.context_processor
    def layout_context() -> dict[str, Any]:
        return {
            "csp_nonce": g.get("csp_nonce", ""),
            "signed_in": fully_authenticated(),
            # Never reads the request body: the 413 page for a too-large upload renders it too.
            "sign_out_form": lambda: ConfirmForm(formdata=None),
        }
