"""Writer for the InfluxDB v1 write API: ``POST /write?db=&rp=&precision=ns`` (blocking, urllib3)."""

from __future__ import annotations

import urllib.parse

import urllib3

from collectors.sink.outcome import RetryableWriteError, WriteOutcome, classify
from config.models import InfluxV1


class InfluxV1Writer:
    """One connection pool to one InfluxDB 1.x database; basic auth when a username is configured."""

    def __init__(self, settings: InfluxV1, *, timeout_s: float) -> None:
        params = {"db": settings.database, "precision": "ns"}
        if settings.retention_policy:
            params["rp"] = settings.retention_policy
        self._url = settings.url.rstrip("/") + "/write?" + urllib.parse.urlencode(params)
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if settings.username:
            password = settings.password.get_secret_value() if settings.password else ""
            self._headers.update(urllib3.make_headers(basic_auth=f"{settings.username}:{password}"))
        self._name = f"influx-v1 {settings.url} db={settings.database}"
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=1,
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout_s, 5.0), read=timeout_s),
        )

    @property
    def name(self) -> str:
        return self._name

    def write(self, body: bytes, points: int) -> WriteOutcome:
        try:
            r = self._pool.request("POST", self._url, body=body, headers=self._headers)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise RetryableWriteError(f"{type(e).__name__}: {e}") from e
        return classify(r.status, r.data.decode("utf-8", errors="replace"), body, points)

    def close(self) -> None:
        self._pool.clear()
