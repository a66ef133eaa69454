"""Which tools a call gets: built-ins, configured by published ToolDefinition rows.

Admins edit tools as versioned ``tool_definitions`` rows; the newest *published*
version of each name applies. For a built-in, a row may change the description the
model sees and switch the tool off; its ``requires_verification`` and ``parameters``
are ignored, because who may run a built-in is code policy (a row could otherwise
lock verify_identity behind verification) and the handler reads fixed parameters.
Rows of other kinds (``http``) become tools through a factory another module
supplies, and then run through the same executor as the built-ins.

A call resolves its :class:`ToolSet` once, at the start: the schemas stay identical
for the whole call, so the LLM server's prefix cache keeps hitting.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.store.models import ToolDefinition, VersionStatus
from callcenter.tools.base import ToolSpec
from callcenter.tools.builtin import BUILTIN_TOOLS
from callcenter.tools.http_tool import http_tool_from_row

log = logging.getLogger(__name__)

# Turns an admin-defined row (kind != "builtin") into a runnable tool.
ToolFactory = Callable[[ToolDefinition], ToolSpec]
DEFAULT_FACTORIES: Mapping[str, ToolFactory] = {"http": http_tool_from_row}


class ToolSet:
    """The tools of one call, in a stable order."""

    def __init__(self, specs: Iterable[ToolSpec]) -> None:
        self._specs = {spec.name: spec for spec in specs}

    def get(self, name: str) -> ToolSpec | None:
        return self._specs.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format tool schemas, for ``ChatModel.stream(..., tools=...)``."""
        return [spec.schema() for spec in self._specs.values()]


def published_definitions(session: Session) -> list[ToolDefinition]:
    """The newest published version of each tool name."""
    newest = (
        select(ToolDefinition.name, func.max(ToolDefinition.version).label("version"))
        .where(ToolDefinition.status == VersionStatus.published)
        .group_by(ToolDefinition.name)
        .subquery()
    )
    query = select(ToolDefinition).join(
        newest,
        (ToolDefinition.name == newest.c.name) & (ToolDefinition.version == newest.c.version),
    )
    return list(session.scalars(query.order_by(ToolDefinition.name)))


def load_toolset(
    session: Session | None = None,
    *,
    rows: Iterable[ToolDefinition] | None = None,
    builtins: Mapping[str, ToolSpec] = BUILTIN_TOOLS,
    factories: Mapping[str, ToolFactory] | None = None,
) -> ToolSet:
    """The tools for a new call. Without a session (or rows), the code defaults.
    ``rows`` instead of the published definitions: what a call would get with a draft
    published (scenario runs)."""
    if rows is None:
        rows = published_definitions(session) if session is not None else []
    overrides = {row.name: row for row in rows}
    specs: list[ToolSpec] = []
    for name, spec in builtins.items():
        row = overrides.pop(name, None)
        if row is None:
            specs.append(spec)
        elif row.enabled:
            specs.append(_configure_builtin(spec, row))
    for row in overrides.values():
        if not row.enabled:
            continue
        factory = (DEFAULT_FACTORIES if factories is None else factories).get(row.kind)
        if factory is None or row.kind == "builtin":
            log.warning("tool %r (kind %r) has no implementation; skipped", row.name, row.kind)
            continue
        specs.append(factory(row))
    return ToolSet(specs)


def _configure_builtin(spec: ToolSpec, row: ToolDefinition) -> ToolSpec:
    return dataclasses.replace(
        spec,
        description=row.description.strip() or spec.description,
        version=row.version,
    )
