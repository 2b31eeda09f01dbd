"""Cause codes a technician closes a ticket with; some are excluded from repair-time SLA."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CauseCode:
    code: str
    zh: str
    en: str
    excluded_from_sla: bool = False
    """True: the outage does not count against repair time or availability (customer side, force
    majeure, announced maintenance, no access to the premises, or a duplicate: the outage is counted on
    the ticket it was merged into)."""


_BUILTIN = (
    CauseCode("equipment_failure", "设备故障", "equipment failure"),
    CauseCode("fiber_cut", "光缆中断", "fiber cut"),
    CauseCode("power_failure", "供电故障", "power failure"),
    CauseCode("software", "软件故障", "software fault"),
    CauseCode("configuration", "配置错误", "configuration error"),
    CauseCode("third_party", "第三方线路故障", "third-party carrier fault"),
    CauseCode("no_fault_found", "未发现故障", "no fault found"),
    CauseCode("customer_side", "用户侧原因", "customer side", excluded_from_sla=True),
    CauseCode("no_access", "无法进入用户场所", "no access to the premises", excluded_from_sla=True),
    CauseCode("force_majeure", "不可抗力", "force majeure", excluded_from_sla=True),
    CauseCode("planned_maintenance", "计划维护", "planned maintenance", excluded_from_sla=True),
    CauseCode("duplicate", "重复工单（已合并）", "duplicate (merged)", excluded_from_sla=True),
)

DUPLICATE = "duplicate"
"""The cause code the system closes a ticket with when it is merged into another (never counted twice)."""

DEFAULT_CAUSES: Mapping[str, CauseCode] = MappingProxyType({c.code: c for c in _BUILTIN})


def excluded_from_sla(code: str | None, causes: Mapping[str, CauseCode] = DEFAULT_CAUSES) -> bool:
    """Whether a ticket closed with ``code`` is excluded from SLA (unknown or no code: not excluded)."""
    cause = causes.get(code) if code is not None else None
    return cause is not None and cause.excluded_from_sla
