"""The store's timestamps: ISO 8601 in UTC, to the millisecond, so they sort as text."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The current time as the store writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
