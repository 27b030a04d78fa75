"""Who, where and with what a contract-relevant step was taken: the request's evidence."""

from __future__ import annotations

from dataclasses import dataclass

from flask import has_request_context, request, session

from ..server_sessions import hash_session_id


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None = None
    user_agent: str | None = None
    session_hash: str | None = None


def client_info() -> ClientInfo:
    """The current request's IP address, user agent and hashed session id."""
    if not has_request_context():
        return ClientInfo()
    sid = getattr(session, "sid", None)
    return ClientInfo(
        ip_address=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:512] or None,
        session_hash=hash_session_id(sid) if sid else None,
    )
