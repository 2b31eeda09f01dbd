"""What the config boundary reports: problems that name the file, line, column and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in a YAML file.

    ``line`` and ``column`` are 1-based; ``None`` when the problem is about the file as a whole
    (missing, unreadable). ``field_path`` is the YAML path of the offending field, rendered like
    ``devices[3].upstream[0].device`` (empty for a file-level problem).
    """

    file: str
    line: int | None
    column: int | None
    field_path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field_path}:" if self.field_path else ""
        return f"{where}:{field} {self.message}"


def _sort_key(p: Problem) -> tuple[str, int, int, str, str]:
    return (p.file, p.line or 0, p.column or 0, p.field_path, p.message)


def sorted_problems(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Problems in file/line/column order, exact duplicates removed."""
    return tuple(sorted(set(problems), key=_sort_key))


class ConfigError(Exception):
    """The configuration is invalid; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = sorted_problems(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
