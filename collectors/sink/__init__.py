"""The InfluxDB sink: line protocol, writers (v1 /write, v2 influxdb-client), the spool, InfluxSink."""

from collectors.sink.influx_sink import InfluxSink, SinkStats, build_writer
from collectors.sink.outcome import LineWriter, Rejected, RetryableWriteError, Written

__all__ = [
    "InfluxSink",
    "LineWriter",
    "Rejected",
    "RetryableWriteError",
    "SinkStats",
    "Written",
    "build_writer",
]
