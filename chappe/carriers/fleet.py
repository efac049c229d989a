"""The connectors one gateway process runs, owned by that gateway.

The gateway builds a `ConnectorFleet` at start and passes what `refresh()` returns to
dispatch and polling; nothing else holds a connector. `refresh()` (at start, then on each
reload) builds and starts the connectors of enabled rows, rebuilds one whose type or
config changed (the old one is stopped first, so its binds close before new ones open),
and stops those removed or disabled; `stop()` stops them all when the gateway stops.
A row whose type is unknown or whose config is invalid is logged and left out: routing
treats it as unavailable and fails over, and the rest of the fleet runs.
"""

import json
import logging
from types import TracebackType
from typing import Self

from chappe.carriers.base import ConnectorType
from chappe.carriers.models import Connector
from chappe.carriers.registry import connector_build
from chappe.common.errors import ChappeError

log = logging.getLogger("chappe.carriers")


class ConnectorFleet:
    def __init__(self, *, process: str) -> None:
        self.process = process
        self._running: dict[str, tuple[str, ConnectorType]] = {}

    def refresh(self) -> dict[str, ConnectorType]:
        """The running connectors, by name, matching the enabled rows now."""
        wanted = {row.name: row for row in Connector.objects.filter(enabled=True)}
        for name in set(self._running) - set(wanted):
            self._stop(name)
        for name, row in wanted.items():
            key = json.dumps([row.type, row.config], sort_keys=True)
            current = self._running.get(name)
            if current is not None and current[0] == key:
                continue
            if current is not None:
                self._stop(name)
            try:
                connector = connector_build(name=name, type=row.type, config=row.config)
            except ChappeError as exc:
                log.error("connector %s left out: %s %s", name, exc.message, exc.details)
                continue
            connector.start(process=self.process)
            self._running[name] = (key, connector)
        return {name: connector for name, (_key, connector) in self._running.items()}

    def _stop(self, name: str) -> None:
        _key, connector = self._running.pop(name)
        connector.stop()

    def stop(self) -> None:
        for name in list(self._running):
            self._stop(name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

