"""What happens when a transaction commits: one ordered list of stages, built by `create_app`.

Before the commit, in the order given, each stage may still write in the transaction (and
record audit events, up to the stage that appends the audit chain). After the commit, the
after-stages run in their order (checkpoints, then deliveries). A SAVEPOINT's release runs
none of them: they wait for the real commit, and see the whole transaction. Nothing here is attached at import time: `install` adds one
listener per session event, and each app keeps its own pipeline in `app.extensions`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

EXTENSION = "commit_pipeline"
_RUNNING = "commit_pipeline_running"


@dataclass(frozen=True)
class Stage:
    """A named step of the commit: `run(session)` does it."""

    name: str
    run: Callable[[Session], None]


@dataclass(frozen=True)
class CommitPipeline:
    """The stages before the commit, then after it, in order; `settled` checks what must hold
    once every before-stage ran (e.g. no audit event left unchained)."""

    before: tuple[Stage, ...]
    after: tuple[Stage, ...]
    settled: Callable[[Session], None] = lambda session: None

    def names(self) -> list[str]:
        """Every stage's name, in the order they run."""
        return [stage.name for stage in (*self.before, *self.after)]

    def with_stage(self, stage: Stage, *, before: str) -> CommitPipeline:
        """A copy with `stage` inserted just before the before-commit stage named `before`."""
        names = [s.name for s in self.before]
        at = names.index(before)
        return CommitPipeline((*self.before[:at], stage, *self.before[at:]), self.after, self.settled)


def pipeline_of(app: Flask) -> CommitPipeline | None:
    """The app's pipeline, if it has one."""
    return app.extensions.get(EXTENSION)


def _current() -> CommitPipeline | None:
    return pipeline_of(current_app) if has_app_context() else None


def _before_commit(session: Session) -> None:
    pipeline = _current()
    # A stage's own SAVEPOINT, released while it runs, does not start the pipeline again.
    if pipeline is None or session.in_nested_transaction() or session.info.get(_RUNNING):
        return
    session.info[_RUNNING] = True
    try:
        for stage in pipeline.before:
            stage.run(session)
    finally:
        session.info.pop(_RUNNING, None)
    pipeline.settled(session)


def _after_commit(session: Session) -> None:
    pipeline = _current()
    if pipeline is None:
        return
    for stage in pipeline.after:
        stage.run(session)


def install(app: Flask, pipeline: CommitPipeline) -> None:
    """Give `app` this pipeline; the session listeners (one each, for every app) run it."""
    app.extensions[EXTENSION] = pipeline
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
