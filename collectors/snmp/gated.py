"""The pysnmp client with a request gate: every PDU (a GET, each GETBULK of a walk) waits on it.

Kept apart from :mod:`collectors.snmp.ratelimit` so the pure parts import no pysnmp. Until
:class:`PysnmpClient` grows a gate hook of its own (requested), this subclass wraps its one request method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collectors.model import Target
from collectors.snmp.pysnmp_client import DEFAULT_VARBIND_BUDGET, PysnmpClient, PysnmpEngine
from collectors.snmp.ratelimit import Gate


class GatedPysnmpClient(PysnmpClient):
    """:class:`PysnmpClient` that awaits its gate before every request PDU (GET and each GETBULK)."""

    def __init__(
        self,
        engine: PysnmpEngine,
        target: Target,
        *,
        max_rows: int = 100_000,
        varbind_budget: int = DEFAULT_VARBIND_BUDGET,
        gate: Gate | None = None,
    ) -> None:
        super().__init__(engine, target, max_rows=max_rows, varbind_budget=varbind_budget)
        self._gate = gate

    def use_gate(self, gate: Gate | None) -> None:
        self._gate = gate

    async def _request(self, command: Any, var_binds: list[Any], bulk: tuple[int, int] | None = None) -> Any:
        if self._gate is not None:
            await self._gate.wait()
        return await super()._request(command, var_binds, bulk)


def gated_client_factory(engine: PysnmpEngine) -> Callable[[Target], GatedPysnmpClient]:
    """A client factory for :class:`SnmpCollector` whose clients honour a profile's request-rate limit."""

    def make(target: Target) -> GatedPysnmpClient:
        return GatedPysnmpClient(engine, target)

    return make


