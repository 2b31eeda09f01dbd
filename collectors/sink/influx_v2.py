"""Writer for the v2 write API (``/api/v2/write``) through influxdb-client's SYNCHRONOUS ``WriteApi``.

Never the batching ``WriteApi``: it reports failures only through callbacks in a background thread,
so a lost write could go unnoticed (STACK.md). Batching and retries are the sink's job.
"""

from __future__ import annotations

from typing import Any

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from collectors.sink.outcome import RetryableWriteError, WriteOutcome, classify
from config.models import InfluxV2


class InfluxV2Writer:
    """Writes pre-serialized line protocol (ns precision) to one org/bucket with a token."""

    def __init__(self, settings: InfluxV2, *, timeout_s: float) -> None:
        self._bucket = settings.bucket
        self._org = settings.org
        self._client: Any = InfluxDBClient(
            url=settings.url,
            token=settings.token.get_secret_value(),
            org=settings.org,
            timeout=int(timeout_s * 1000),
            retries=False,
        )
        self._api: Any = self._client.write_api(write_options=SYNCHRONOUS)
        self._name = f"influx-v2 {settings.url} org={settings.org} bucket={settings.bucket}"

    @property
    def name(self) -> str:
        return self._name

    def write(self, body: bytes, points: int) -> WriteOutcome:
        try:
            self._api.write(bucket=self._bucket, org=self._org, record=body, write_precision=WritePrecision.NS)
        except ApiException as e:
            message = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or e.reason)
            return classify(int(e.status or 0), message, body, points)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise RetryableWriteError(f"{type(e).__name__}: {e}") from e
        return classify(204, "", body, points)

    def close(self) -> None:
        self._api.close()
        self._client.close()
