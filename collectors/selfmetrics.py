"""The poller's own health, as a sample in measurement ``poller``: one per run of one job on one device."""

from __future__ import annotations

from collections.abc import Mapping

from collectors.measurements import (
    BY_NAME,
    F_DURATION_MS,
    F_ERROR,
    F_OK,
    F_RATES_DROPPED,
    F_REQUESTS,
    F_SKIPPED,
    F_VARBINDS,
    POLLER,
    TAG_DEVICE,
    TAG_JOB,
)
from collectors.model import FieldValue, PollResult, Sample

_POLLER_TAGS = frozenset(BY_NAME[POLLER].tags)


def self_metric(result: PollResult, tags: Mapping[str, str], skipped: int) -> Sample:
    """The ``poller`` sample of one run.

    Tags: ``device`` and ``job`` from the result, plus those of the device's ``tags`` the ``poller``
    measurement carries (``site``, ``region``, ``role``; others such as ``vendor`` are dropped, and
    ``tags`` can never override ``device``/``job``). Fields: ``duration_ms`` (float), ``varbinds``
    (int), ``ok`` (int 0/1), ``error`` (string, only when the run failed), ``skipped`` (int: runs
    of this job on this device skipped since the previous sample), ``requests`` (int: request PDUs sent)
    and ``rates_dropped`` (int: counter intervals left without a rate). The time is when the run started.
    """
    if skipped < 0:
        raise ValueError(f"skipped must be >= 0, got {skipped}")
    sample_tags = {k: v for k, v in tags.items() if k in _POLLER_TAGS}
    sample_tags[TAG_DEVICE] = result.device
    sample_tags[TAG_JOB] = result.job
    fields: dict[str, FieldValue] = {
        F_DURATION_MS: float(result.duration_s * 1000.0),
        F_VARBINDS: int(result.varbinds),
        F_OK: 1 if result.ok else 0,
        F_SKIPPED: int(skipped),
        F_REQUESTS: int(result.pdus),
        F_RATES_DROPPED: int(result.rates_dropped),
    }
    if result.error is not None:
        fields[F_ERROR] = result.error
    return Sample(measurement=POLLER, tags=sample_tags, fields=fields, time=result.started)
