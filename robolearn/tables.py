"""Plain-text tables and pass/fail bars for reports a person reads (benchmarks, comparisons)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TOLERANCE = 1e-9
"""A measured value exactly at its limit passes, whatever the floating-point rounding."""


@dataclass(frozen=True)
class Bar:
    """One target, measured: a value on the right side of its limit passes.

    Every benchmark and report states its targets as bars, so each prints them alike.
    """

    name: str
    value: float
    limit: float
    at_least: bool
    """True when the value must be >= the limit, False when it must be <= it."""
    unit: str = ""
    yes_no: bool = False
    """Show the value as yes (1) / no (0) rather than as a number."""
    shown: str | None = None
    """How the measured value reads, when a number alone does not say it."""
    wanted: str | None = None
    """How the requirement reads, when ``>= limit`` does not say it."""

    @property
    def passed(self) -> bool:
        """Whether the value is on the right side of the limit."""
        if self.at_least:
            return self.value >= self.limit - TOLERANCE
        return self.value <= self.limit + TOLERANCE

    def _show(self, number: float) -> str:
        if self.yes_no:
            return "yes" if number else "no"
        return f"{number:,.3g} {self.unit}".rstrip()

    @property
    def measured(self) -> str:
        """The measured value as a person reads it."""
        return self.shown if self.shown is not None else self._show(self.value)

    @property
    def required(self) -> str:
        """The requirement as a person reads it."""
        if self.wanted is not None:
            return self.wanted
        required = self._show(self.limit)
        return required if self.yes_no else f"{'>=' if self.at_least else '<='} {required}"

    def row(self) -> list[str]:
        """Name, measured value, requirement and PASS/FAIL, as table cells."""
        return [self.name, self.measured, self.required, "PASS" if self.passed else "FAIL"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned first column, right-aligned others, a rule under the header."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
