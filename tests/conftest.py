"""Shared fixtures: each real server lives in its own module under tests/servers/."""

pytest_plugins = [
    "tests.servers.snmpsim",
    "tests.servers.snmpd",
    "tests.servers.influx",
    "tests.servers.victoria",
]
