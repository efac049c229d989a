"""Which function runs a job of each name: a registry the worker role builds at start.

Each app declares its handlers in its `tasks.py` with `@job_handler(name)` (`every=` for
periodic ones); the decorator only marks the function. `registry_discover()` imports every
installed app's `tasks` module and collects the marked functions into a `JobRegistry` that
the worker passes on explicitly: no module-level table fills up as a side effect of
imports, and a test builds the registry it needs (`JobRegistry.of(handler, …)`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps

Handler = Callable[[dict[str, Any]], None]


def job_handler(name: str, *, every: timedelta | None = None) -> Callable[[Handler], Handler]:
    """Mark `func` as the handler of jobs named `name` (with `every`, a periodic job the
    workers enqueue once per period)."""

    def mark(func: Handler) -> Handler:
        func.job_name = name  # type: ignore[attr-defined]
        func.job_every = every  # type: ignore[attr-defined]
        return func

    return mark


@dataclass(frozen=True)
class JobRegistry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    periodic: dict[str, timedelta] = field(default_factory=dict)

    @classmethod
    def of(cls, *funcs: Handler) -> "JobRegistry":
        """A registry of these marked handlers."""
        registry = cls()
        for func in funcs:
            registry.add(func)
        return registry

    def add(self, func: Handler) -> None:
        name: str = func.job_name  # type: ignore[attr-defined]
        if self.handlers.get(name, func) is not func:
            raise ValueError(f"two handlers for job {name!r}")
        self.handlers[name] = func
        if func.job_every is not None:  # type: ignore[attr-defined]
            self.periodic[name] = func.job_every  # type: ignore[attr-defined]

    def __contains__(self, name: str) -> bool:
        return name in self.handlers


def registry_discover() -> JobRegistry:
    """Every handler marked in an installed app's `tasks` module."""
    registry = JobRegistry()
    for config in apps.get_app_configs():
        module_name = f"{config.name}.tasks"
        if find_spec(module_name) is None:
            continue
        module = import_module(module_name)
        for value in vars(module).values():
            if callable(value) and hasattr(value, "job_name"):
                registry.add(value)
    return registry
