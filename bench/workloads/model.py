"""A workload in memory: the header (origin, team table, person snapshot…) and the records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from impls.base import PartitionContext, Record


@dataclass
class Workload:
    name: str
    header: dict[str, Any]   # see docs/workloads.md
    records: list[Record]

    def context(self, settings: dict[str, Any] | None = None) -> PartitionContext:
        """The partition context an implementation starts from."""
        origin = self.header.get("origin", {})
        return PartitionContext(
            teams=self.header.get("teams", []),
            persons=self.header.get("persons", []),
            groups=self.header.get("groups", []),
            restrictions=self.header.get("restrictions", []),
            settings=dict(settings or {}),
            topic=origin.get("topic", "events_plugin_ingestion"),
            partition=origin.get("partition", 0),
        )
