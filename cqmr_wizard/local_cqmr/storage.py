"""scim2-server's in-memory storage, written through to a JSON file so resources survive a restart."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scim2_models import Resource, ResourceType
from scim2_server.memory import InMemoryStorage

VERSION = re.compile(r'W/"(\d+)"')


class FileStorage(InMemoryStorage):
    """Keep every resource in memory (scim2-server's indexes and filters) and rewrite one JSON file
    after each change, atomically; a single process owns the file."""

    def __init__(self, path: Path, model_for: Callable[[str], type[Resource[Any]]]) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            self.resources = [model_for(item["meta"]["resourceType"]).model_validate(item) for item in stored]
            last = max((_version_number(r) for r in self.resources), default=0)
            self.versions = itertools.count(last + 1)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """Store a new resource and save the file."""
        with self.lock:
            created = super().create(resource_type, resource)
            self._save()
            return created

    def update(
        self, resource_type: ResourceType, resource: Resource[Any], *, expected_version: str | None = None
    ) -> Resource[Any]:
        """Replace a resource and save the file."""
        with self.lock:
            updated = super().update(resource_type, resource, expected_version=expected_version)
            self._save()
            return updated

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        """Delete a resource and save the file."""
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([r.model_dump() for r in self.resources]), encoding="utf-8")
        os.replace(tmp, self.path)


def _version_number(resource: Resource[Any]) -> int:
    match = VERSION.fullmatch(resource.meta.version or "") if resource.meta else None
    return int(match.group(1)) if match else 0
