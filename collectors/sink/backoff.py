"""Retry delays (pure): exponential, capped, jittered — the jitter draw is injected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, attempt: int, jitter: float) -> float:
        """Delay before retry number ``attempt`` (0-based); ``jitter`` in [0, 1) spreads it over [½, 1]×."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(attempt, 62))
        return ceiling * (0.5 + 0.5 * jitter)
