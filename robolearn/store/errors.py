"""The store's errors: each names the file and says what to do."""

from __future__ import annotations

from robolearn.errors import UserError


class StoreError(UserError):
    """The root of the store's errors."""


class StoreFileError(StoreError):
    """The file at the store's path is not a robolearn database that this code can use.

    It is never changed: not repaired, not overwritten, not migrated.
    """


class NewerSchemaError(StoreFileError):
    """The database was written by a newer robolearn, with migrations this one does not know."""


class MissingRowError(StoreError, LookupError):
    """A run or an episode that the store does not hold."""
