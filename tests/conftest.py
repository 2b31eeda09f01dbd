"""Shared fixtures: each real server lives in its own module under tests/servers/."""

pytest_plugins = [
    "tests.servers.snmpsim",
    "tests.servers.snmpd",
    "tests.servers.influx",
    "tests.servers.victoria",
    "tests.servers.sshd",
    "tests.servers.fakenos_olt",
    "tests.servers.postgres",
    "tests.transports",
]
