"""The one measurement schema: measurement, tag and field names, defined once and imported everywhere.

Every measurement also carries the device's ``site``, ``region`` and ``role`` tags (see
:data:`DEVICE_TAGS`). Times are UTC. A field with no valid value is absent, never zero.
See ``docs/schema.md`` for the table with units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- tags shared by every measurement of a device -------------------------------------------------
TAG_DEVICE: Final = "device"
TAG_SITE: Final = "site"
TAG_REGION: Final = "region"
TAG_ROLE: Final = "role"
TAG_VENDOR: Final = "vendor"
DEVICE_TAGS: Final = (TAG_DEVICE, TAG_SITE, TAG_REGION, TAG_ROLE)


@dataclass(frozen=True, slots=True)
class Measurement:
    """A measurement's name and the tag and field names it may carry."""

    name: str
    tags: tuple[str, ...]
    fields: tuple[str, ...]


# --- device: reachability, uptime, CPU, memory ------------------------------------------------------
DEVICE: Final = "device"
F_REACHABLE: Final = "reachable"  # int 0/1
F_RESPONSE_MS: Final = "response_ms"  # float, round trip of the sysUpTime GET
F_UPTIME_S: Final = "uptime_s"  # int, sysUpTime / 100
F_CPU_PCT: Final = "cpu_pct"  # float, busiest route processor / main CPU
F_MEM_PCT: Final = "mem_pct"  # float, main/processor memory pool
F_SYSNAME: Final = "sysname"  # string

# --- interface: IF-MIB ----------------------------------------------------------------------------------
INTERFACE: Final = "interface"
TAG_IFNAME: Final = "ifname"
TAG_IFINDEX: Final = "ifindex"
TAG_IFALIAS: Final = "ifalias"
F_OPER_STATUS: Final = "oper_status"  # int, IF-MIB enum 1 up .. 7 lowerLayerDown
F_ADMIN_STATUS: Final = "admin_status"
F_SPEED_BPS: Final = "speed_bps"  # int
F_IN_OCTETS: Final = "in_octets"  # raw counters, int
F_OUT_OCTETS: Final = "out_octets"
F_IN_ERRORS: Final = "in_errors"
F_OUT_ERRORS: Final = "out_errors"
F_IN_DISCARDS: Final = "in_discards"
F_OUT_DISCARDS: Final = "out_discards"
F_IN_BPS: Final = "in_bps"  # float; absent when there is no valid rate (first poll, reset, gap)
F_OUT_BPS: Final = "out_bps"
F_IN_UTIL_PCT: Final = "in_util_pct"
F_OUT_UTIL_PCT: Final = "out_util_pct"
F_IN_ERRORS_PS: Final = "in_errors_ps"  # float, errors per second
F_OUT_ERRORS_PS: Final = "out_errors_ps"
F_IN_DISCARDS_PS: Final = "in_discards_ps"
F_OUT_DISCARDS_PS: Final = "out_discards_ps"

# --- GPON OLTs ---------------------------------------------------------------------------------------------
PON_PORT: Final = "pon_port"
TAG_PON: Final = "pon"  # frame/slot/port as operators write it, e.g. "0/1/3"
F_TX_DBM: Final = "tx_dbm"  # float, dBm
F_TEMPERATURE_C: Final = "temperature_c"  # float
F_VOLTAGE_V: Final = "voltage_v"  # float
F_BIAS_MA: Final = "bias_ma"  # float
F_ONUS_ONLINE: Final = "onus_online"  # int
F_ONUS_TOTAL: Final = "onus_total"  # int

ONU: Final = "onu"
TAG_ONU_ID: Final = "onu_id"
TAG_SERIAL: Final = "serial"
F_STATUS: Final = "status"  # int: 1 online/up, 2 offline/down
F_RX_DBM: Final = "rx_dbm"  # float, dBm at the ONU (downstream)
F_OLT_RX_DBM: Final = "olt_rx_dbm"  # float, dBm at the OLT from this ONU (upstream)
F_DISTANCE_M: Final = "distance_m"  # int
F_LAST_DOWN_CAUSE: Final = "last_down_cause"  # string

# --- cell-site gear ----------------------------------------------------------------------------------------
RADIO: Final = "radio"
TAG_LINK: Final = "link"  # the radio interface or carrier name
F_RSL_DBM: Final = "rsl_dbm"  # float, received signal level
F_SNR_DB: Final = "snr_db"  # float
F_MSE_DB: Final = "mse_db"  # float
F_CAPACITY_BPS: Final = "capacity_bps"  # int

POWER: Final = "power"
F_MAINS_OK: Final = "mains_ok"  # int 0/1
F_BATTERY_V: Final = "battery_v"  # float
F_LOAD_A: Final = "load_a"  # float
F_RECTIFIERS_TOTAL: Final = "rectifiers_total"  # int
F_RECTIFIERS_OK: Final = "rectifiers_ok"  # int
F_BATTERY_RUNTIME_MIN: Final = "battery_runtime_min"  # float, minutes the battery lasts at the present load
F_SYSTEM_OK: Final = "system_ok"  # int 0/1: the plant's own overall status (no major/critical alarm)
F_ALARM_LEVEL: Final = "alarm_level"  # int: the plant's highest active alarm severity, vendor scale (see profile)

# --- BGP sessions (BGP4-MIB bgpPeerTable; IPv4 peers) ----------------------------------------------------------
BGP_PEER: Final = "bgp_peer"
TAG_PEER: Final = "peer"  # the peer's address
TAG_REMOTE_AS: Final = "remote_as"
F_STATE: Final = "state"  # int, bgpPeerState: 1 idle … 6 established
F_ESTABLISHED_S: Final = "established_s"  # int, bgpPeerFsmEstablishedTime (seconds in / since the last state)

# --- events (traps, later alarms/tickets) for Grafana annotations --------------------------------------------
EVENT: Final = "event"
TAG_KIND: Final = "kind"  # linkDown, linkUp, coldStart, warmStart, bgpBackwardTransition, vendor kinds...
TAG_SOURCE: Final = "source"  # trap, poll, ssh
TAG_SEVERITY: Final = "severity"
F_COUNT: Final = "count"  # int, always 1 (so sum() counts events)
F_TEXT: Final = "text"  # string, human-readable
F_IFINDEX: Final = "ifindex"  # int, when the event names an interface

# --- alarms and tickets (Grafana: annotations and the active-alarms table) ------------------------------------
ALARM: Final = "alarm"
TAG_RESOURCE: Final = "resource"
F_ACTIVE: Final = "active"  # int 0/1: raised (or clearing) vs cleared
F_CHANGE: Final = "change"  # string: raised | updated | cleared | correlated | flapping
F_ROOT: Final = "root"  # string: the root alarm's key, "" when this alarm is a root cause
F_MAINTENANCE: Final = "maintenance"  # int 0/1
F_OCCURRENCES: Final = "occurrences"  # int

TICKET: Final = "ticket"
TAG_TICKET: Final = "ticket"  # the ticket id
TAG_PRIORITY: Final = "priority"
F_STATUS_TEXT: Final = "status_text"  # string: open | acknowledged | in_progress | resolved | closed
F_SERVICES: Final = "services"  # int: affected services
F_SUBSCRIBERS: Final = "subscribers"  # int: affected subscribers
F_ACTOR: Final = "actor"  # string: who made the change (system, a token's name, a CLI user)

# --- the trap receiver's own counters (cumulative ints) ------------------------------------------------------
TRAP_RECEIVER: Final = "trap_receiver"
TAG_LISTEN: Final = "listen"  # address:port the receiver is bound to
TRAP_RECEIVER_FIELDS: Final = (
    "received", "accepted", "dropped", "malformed", "bad_community", "unknown_engine", "unknown_user", "bad_auth",
    "bad_priv", "not_in_time", "other_dropped", "decode_errors", "unresolved", "queue_full", "events",
    "handler_errors", "heartbeats", "duplicates",
)

# --- poller self-metrics ----------------------------------------------------------------------------------
POLLER: Final = "poller"
TAG_JOB: Final = "job"
F_DURATION_MS: Final = "duration_ms"  # float
F_VARBINDS: Final = "varbinds"  # int
F_OK: Final = "ok"  # int 0/1
F_ERROR: Final = "error"  # string reason, only on failure
F_SKIPPED: Final = "skipped"  # int, overrunning runs skipped since the last sample
F_RATES_DROPPED: Final = "rates_dropped"  # int, counter intervals left without a rate (reset/gap/wrap/ceiling)
F_REQUESTS: Final = "requests"  # int, request PDUs the run sent

SCHEMA: Final = (
    Measurement(
        DEVICE,
        (TAG_DEVICE, TAG_SITE, TAG_REGION, TAG_ROLE, TAG_VENDOR),
        (F_REACHABLE, F_RESPONSE_MS, F_UPTIME_S, F_CPU_PCT, F_MEM_PCT, F_SYSNAME),
    ),
    Measurement(
        INTERFACE,
        (TAG_DEVICE, TAG_IFNAME, TAG_IFINDEX, TAG_IFALIAS, TAG_SITE, TAG_REGION, TAG_ROLE),
        (
            F_OPER_STATUS, F_ADMIN_STATUS, F_SPEED_BPS,
            F_IN_OCTETS, F_OUT_OCTETS, F_IN_ERRORS, F_OUT_ERRORS, F_IN_DISCARDS, F_OUT_DISCARDS,
            F_IN_BPS, F_OUT_BPS, F_IN_UTIL_PCT, F_OUT_UTIL_PCT,
            F_IN_ERRORS_PS, F_OUT_ERRORS_PS, F_IN_DISCARDS_PS, F_OUT_DISCARDS_PS,
        ),
    ),
    Measurement(
        PON_PORT,
        (TAG_DEVICE, TAG_PON, TAG_IFINDEX, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_OPER_STATUS, F_TX_DBM, F_TEMPERATURE_C, F_VOLTAGE_V, F_BIAS_MA, F_ONUS_ONLINE, F_ONUS_TOTAL),
    ),
    Measurement(
        ONU,
        (TAG_DEVICE, TAG_PON, TAG_ONU_ID, TAG_SERIAL, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_STATUS, F_RX_DBM, F_TX_DBM, F_OLT_RX_DBM, F_DISTANCE_M, F_LAST_DOWN_CAUSE, F_TEMPERATURE_C,
         F_VOLTAGE_V, F_BIAS_MA),
    ),
    Measurement(
        RADIO,
        (TAG_DEVICE, TAG_LINK, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_RSL_DBM, F_TX_DBM, F_SNR_DB, F_MSE_DB, F_CAPACITY_BPS, F_STATUS),
    ),
    Measurement(
        POWER,
        (TAG_DEVICE, TAG_SITE, TAG_REGION, TAG_ROLE),
        (
            F_MAINS_OK, F_BATTERY_V, F_LOAD_A, F_RECTIFIERS_TOTAL, F_RECTIFIERS_OK,
            F_BATTERY_RUNTIME_MIN, F_SYSTEM_OK, F_ALARM_LEVEL,
        ),
    ),
    Measurement(
        BGP_PEER,
        (TAG_DEVICE, TAG_PEER, TAG_REMOTE_AS, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_STATE, F_ADMIN_STATUS, F_ESTABLISHED_S),
    ),
    Measurement(
        EVENT,
        (TAG_DEVICE, TAG_KIND, TAG_SOURCE, TAG_SEVERITY, TAG_IFNAME, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_COUNT, F_TEXT, F_IFINDEX),
    ),
    Measurement(TRAP_RECEIVER, (TAG_LISTEN,), TRAP_RECEIVER_FIELDS),
    Measurement(
        ALARM,
        (TAG_DEVICE, TAG_KIND, TAG_RESOURCE, TAG_SEVERITY, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_ACTIVE, F_CHANGE, F_ROOT, F_MAINTENANCE, F_OCCURRENCES, F_TEXT),
    ),
    Measurement(
        TICKET,
        (TAG_TICKET, TAG_DEVICE, TAG_KIND, TAG_PRIORITY, TAG_REGION, TAG_SITE),
        (F_STATUS_TEXT, F_SERVICES, F_SUBSCRIBERS, F_TEXT, F_CHANGE, F_ACTOR),
    ),
    Measurement(
        POLLER,
        (TAG_DEVICE, TAG_JOB, TAG_SITE, TAG_REGION, TAG_ROLE),
        (F_DURATION_MS, F_VARBINDS, F_OK, F_ERROR, F_SKIPPED, F_RATES_DROPPED, F_REQUESTS),
    ),
)
"""Every measurement netqos writes."""

BY_NAME: Final = {m.name: m for m in SCHEMA}
