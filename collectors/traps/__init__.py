"""SNMP trap/inform reception: a pysnmp receiver (thin adapter) and a pure decoder to DeviceEvents."""
