"""Server-side sessions: the cookie carries a random id, the data lives in the database
(or Redis when REDIS_URL is set), so sign-out and "sign out everywhere" really end them."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, Request, Response, request
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, select, update
from werkzeug.datastructures import CallbackDict

from .extensions import db
from .models import WebSession
from .models.base import utcnow
from .outages import become_unavailable, outage_or_raise, redis_client_options

_serializer = TaggedJSONSerializer()
# Only write `last_seen_at` this often when nothing else changed.
TOUCH_INTERVAL = timedelta(seconds=60)


def hash_session_id(sid: str) -> str:
    """Return the SHA-256 of a session id; only the hash is ever stored."""
    return hashlib.sha256(sid.encode()).hexdigest()


@dataclass
class StoredSession:
    user_id: int | None
    data: dict[str, Any]
    created_at: datetime
    last_seen_at: datetime


class SessionStore(Protocol):
    def load(self, id_hash: str) -> StoredSession | None: ...
    def save(self, id_hash: str, record: StoredSession, ttl: timedelta) -> None: ...
    def touch(self, id_hash: str, when: datetime, ttl: timedelta) -> None: ...
    def delete(self, id_hash: str) -> None: ...
    def delete_for_user(self, user_id: int, keep: str | None = None) -> int: ...


class DatabaseSessionStore:
    """Sessions in the `web_session` table, written on a connection of their own."""

    def load(self, id_hash: str) -> StoredSession | None:
        with db.engine.connect() as conn:
            row = conn.execute(
                select(
                    WebSession.user_id, WebSession.data, WebSession.created_at, WebSession.last_seen_at
                ).where(WebSession.id_hash == id_hash)
            ).first()
        if row is None:
            return None
        return StoredSession(row.user_id, _serializer.loads(row.data), row.created_at, row.last_seen_at)

    def save(self, id_hash: str, record: StoredSession, ttl: timedelta) -> None:
        values = {
            "user_id": record.user_id,
            "data": _serializer.dumps(record.data),
            "created_at": record.created_at,
            "last_seen_at": record.last_seen_at,
        }
        with db.engine.begin() as conn:
            result = conn.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(**values))
            if result.rowcount == 0:
                conn.execute(WebSession.__table__.insert().values(id_hash=id_hash, **values))

    def touch(self, id_hash: str, when: datetime, ttl: timedelta) -> None:
        with db.engine.begin() as conn:
            conn.execute(update(WebSession).where(WebSession.id_hash == id_hash).values(last_seen_at=when))

    def delete(self, id_hash: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(WebSession).where(WebSession.id_hash == id_hash))

    def delete_for_user(self, user_id: int, keep: str | None = None) -> int:
        statement = delete(WebSession).where(WebSession.user_id == user_id)
        if keep:
            statement = statement.where(WebSession.id_hash != keep)
        with db.engine.begin() as conn:
            return conn.execute(statement).rowcount


class RedisSessionStore:
    """Sessions in Redis, expiring with the idle timeout; a set per user lists them."""

    def __init__(self, url: str, prefix: str = "cqmr:", timeout: float = 3.0) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, **redis_client_options(timeout))
        self.prefix = prefix

    def _key(self, id_hash: str) -> str:
        return f"{self.prefix}session:{id_hash}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}user-sessions:{user_id}"

    def load(self, id_hash: str) -> StoredSession | None:
        raw = self.redis.get(self._key(id_hash))
        if raw is None:
            return None
        doc = json.loads(raw)
        return StoredSession(
            doc["user_id"],
            _serializer.loads(doc["data"]),
            datetime.fromisoformat(doc["created_at"]),
            datetime.fromisoformat(doc["last_seen_at"]),
        )

    def save(self, id_hash: str, record: StoredSession, ttl: timedelta) -> None:
        doc = {
            "user_id": record.user_id,
            "data": _serializer.dumps(record.data),
            "created_at": record.created_at.isoformat(),
            "last_seen_at": record.last_seen_at.isoformat(),
        }
        pipe = self.redis.pipeline()
        pipe.set(self._key(id_hash), json.dumps(doc), ex=ttl)
        if record.user_id is not None:
            pipe.sadd(self._user_key(record.user_id), id_hash)
        pipe.execute()

    def touch(self, id_hash: str, when: datetime, ttl: timedelta) -> None:
        record = self.load(id_hash)
        if record is not None:
            record.last_seen_at = when
            self.save(id_hash, record, ttl)

    def delete(self, id_hash: str) -> None:
        record = self.load(id_hash)
        self.redis.delete(self._key(id_hash))
        if record is not None and record.user_id is not None:
            self.redis.srem(self._user_key(record.user_id), id_hash)

    def delete_for_user(self, user_id: int, keep: str | None = None) -> int:
        members = {m.decode() for m in self.redis.smembers(self._user_key(user_id))}
        doomed = [m for m in members if m != keep]
        if not doomed:
            return 0
        # The set may still name sessions that expired by themselves: count only live ones.
        ended = self.redis.delete(*(self._key(m) for m in doomed))
        self.redis.srem(self._user_key(user_id), *doomed)
        return ended


class ServerSession(CallbackDict, SessionMixin):
    """Session data plus the requests to rotate or end it."""

    def __init__(
        self,
        initial: dict | None = None,
        sid: str | None = None,
        created_at: datetime | None = None,
        last_seen_at: datetime | None = None,
    ):
        def on_update(_self: ServerSession) -> None:
            _self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.new = sid is None
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.modified = False
        self.rotate_requested = False
        self.end_requested = False
        # The outage that kept this session from being read or written (outages.py answers 503).
        self.outage: BaseException | None = None

    def rotate(self) -> None:
        """Give this session a new id (at sign-in and second factor), keeping its data."""
        self.rotate_requested = True
        self.modified = True

    def end(self) -> None:
        """Forget this session on the server and in the browser."""
        self.clear()
        self.end_requested = True
        self.modified = True

    @property
    def id_hash(self) -> str | None:
        return hash_session_id(self.sid) if self.sid else None


class ServerSessionInterface(SessionInterface):
    """Flask session interface over a `SessionStore`, with idle and absolute timeouts."""

    def __init__(self, store: SessionStore, sessionless: tuple[str, ...] = ()) -> None:
        self.store = store
        # Paths that neither read nor write a session (health probes, metrics scrapes).
        self.sessionless = frozenset(sessionless)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path in self.sessionless:
            return ServerSession()
        try:
            return self._open(app, request)
        except Exception as error:
            # An empty session, flagged: the page answers 503 unless it keeps working without
            # one. The cookie is left alone, so the session carries on once the store is back.
            session = ServerSession()
            session.outage = outage_or_raise(error)
            return session

    def _open(self, app: Flask, request: Request) -> ServerSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid or len(sid) > 128:
            return ServerSession()
        id_hash = hash_session_id(sid)
        record = self.store.load(id_hash)
        if record is None:
            return ServerSession()
        now = utcnow()
        idle = app.config["SESSION_IDLE_TIMEOUT"]
        absolute = app.config["SESSION_ABSOLUTE_TIMEOUT"]
        if now - record.last_seen_at > idle or now - record.created_at > absolute:
            self.store.delete(id_hash)
            return ServerSession({"_expired": True})
        return ServerSession(record.data, sid, record.created_at, record.last_seen_at)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        if request.path in self.sessionless or session.outage is not None:
            return
        try:
            self._save(app, session, response)
        except Exception as error:
            session.outage = outage_or_raise(error)
            # Too late for an error handler: the answer already made becomes the 503 page.
            become_unavailable(response, session.outage)

    def _save(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        ttl = app.config["SESSION_IDLE_TIMEOUT"]
        session.pop("_expired", None)
        if session.end_requested and session.sid:
            self.store.delete(session.id_hash)
            session.sid = None
        if not session:
            if session.sid:
                self.store.delete(session.id_hash)
            if session.sid or session.end_requested:
                response.delete_cookie(name, domain=domain, path=path)
            return
        # Anything written after end() (a flashed "You have signed out", say) goes into a
        # brand-new anonymous session below.
        now = utcnow()
        if session.rotate_requested and session.sid:
            self.store.delete(session.id_hash)
            session.sid = None
        if session.sid is None:
            session.sid = secrets.token_urlsafe(32)
            session.created_at = now
            session.modified = True
        if session.modified:
            self.store.save(
                session.id_hash, StoredSession(_user_id(session), dict(session), session.created_at, now), ttl
            )
        elif session.last_seen_at is None or now - session.last_seen_at > TOUCH_INTERVAL:
            self.store.touch(session.id_hash, now, ttl)
        else:
            return
        response.set_cookie(
            name,
            session.sid,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            domain=domain,
            path=path,
        )
        response.vary.add("Cookie")


def _user_id(session: ServerSession) -> int | None:
    value = session.get("_user_id")
    return int(value) if value is not None else None


def make_store(app: Flask) -> SessionStore:
    """Pick the session store for this deployment."""
    if app.config.get("REDIS_URL"):
        prefix, timeout = app.config.get("REDIS_PREFIX", "cqmr:"), float(app.config["REDIS_TIMEOUT"])
        return RedisSessionStore(app.config["REDIS_URL"], prefix, timeout)
    return DatabaseSessionStore()
