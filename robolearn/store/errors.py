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


class StoreWriteError(StoreError):
    """The database could not be written; the transaction was rolled back.

    A full or read-only disk, an input/output error, or a lock another process held too long.
    """


WRITE_ADVICE = {
    "database or disk is full": "the disk is full: free some space, then run it again",
    "disk I/O error": "the disk reported an input/output error: check it, then run it again",
    "readonly database": "the database or its folder is read-only: choose a writable --workspace",
    "unable to open database file": "the database cannot be opened for writing: check the "
    "permissions of the workspace, or choose another --workspace",
    "database is locked": "another process held the database too long: let it finish, then run "
    "it again",
}
"""What to do, by the words SQLite uses for what went wrong."""


def write_error(path: object, error: Exception) -> StoreWriteError | None:
    """The one-line StoreWriteError for an sqlite3.OperationalError met while writing.

    None if SQLite's words are not about the disk or a lock: a bug keeps its traceback.
    """
    message = str(error)
    advice = next((advice for words, advice in WRITE_ADVICE.items() if words in message), None)
    if advice is None:
        return None
    return StoreWriteError(f"cannot write {path} ({message}); nothing of it was stored; {advice}")
