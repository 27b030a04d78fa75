"""Task list: definitions, the pure status function, loading facts, and the progress projection."""

from .definitions import TASKS
from .engine import Facts, OrganizationFacts, Status, TaskDefinition, TaskState, task_statuses
from .facts import load_facts

__all__ = [
    "TASKS",
    "Facts",
    "OrganizationFacts",
    "Status",
    "TaskDefinition",
    "TaskState",
    "load_facts",
    "task_statuses",
]
