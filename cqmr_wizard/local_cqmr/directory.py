"""Who the local CQMR knows: a person read from its own SCIM store by their OneHealthPort subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim2_models import Resource
from scim2_server.memory import InMemoryStorage


@dataclass(frozen=True)
class Person:
    """A provisioned CQMR user as the signed-in page shows them."""

    name: str
    organizations: list[str]
    roles: list[str]
    active: bool


def find_person(storage: InMemoryStorage, subject: str) -> Person | None:
    """Return the user whose userName is this subject (case-insensitive, as RFC 7643 says), or None."""
    wanted = subject.casefold()
    with storage.lock:
        resources = storage.resources
        user = next(
            (r for r in resources if _type(r) == "User" and (r.user_name or "").casefold() == wanted),
            None,
        )
        if user is None:
            return None
        groups = [
            r.display_name or r.id
            for r in resources
            if _type(r) == "Group" and any(m.value == user.id for m in r.members or [])
        ]
    return Person(
        name=_name_of(user),
        organizations=sorted(groups),
        roles=[role.display or role.value for role in user.roles or [] if role.display or role.value],
        active=user.active is True,
    )


def _type(resource: Resource[Any]) -> str | None:
    return resource.meta.resource_type if resource.meta else None


def _name_of(user: Any) -> str:
    name = user.name
    if name and name.formatted:
        return name.formatted
    parts = [name.given_name, name.family_name] if name else []
    return " ".join(p for p in parts if p) or user.display_name or user.user_name
