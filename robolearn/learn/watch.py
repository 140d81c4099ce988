"""Periodic training: a round whenever enough new corrections have arrived (``train --every``).

It counts corrections newer than the last round's (each round records the newest correction
that existed when it began), so a restarted watcher neither repeats nor skips work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from robolearn.learn.rounds import NothingToLearnError, RoundConfig, RoundOutcome, run_round
from robolearn.planner.identity import model_identity
from robolearn.store import Store

POLL_SECONDS = 5.0
"""How often a watcher looks for new corrections, unless told otherwise."""


class CorrectionWatcher:
    """Runs a round for one base model every ``every`` new corrections."""

    def __init__(self, workspace: Path, model_dir: Path, every: int) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1 correction, got {every}")
        self.workspace = Path(workspace)
        self.model_dir = Path(model_dir)
        self.every = every
        self.base_model = model_identity(model_dir)
        self._seen = 0
        """The newest correction a round (or a round that found nothing to learn) has seen."""

    def pending(self) -> list[int]:
        """Ids of the corrections that arrived after the last round began."""
        with Store.open(self.workspace) as store:
            rounds = store.rounds(self.base_model)
            since = max(self._seen, rounds[-1].last_correction_id if rounds else 0)
            return [int(c.id or 0) for c in store.corrections(since_id=since)]

    def rounds(
        self,
        config: RoundConfig,
        poll_seconds: float = POLL_SECONDS,
        max_rounds: int | None = None,
        log: Callable[[str], None] = print,
    ) -> Iterator[RoundOutcome]:
        """Each round as it ends; waits ``poll_seconds`` between looks at the store."""
        done = 0
        while max_rounds is None or done < max_rounds:
            pending = self.pending()
            if len(pending) >= self.every:
                self._seen = max(pending)
                try:
                    yield run_round(self.workspace, self.model_dir, config, log=log)
                except NothingToLearnError as nothing:
                    log(f"{len(pending)} corrections arrived, but {nothing}")
                done += 1
                continue
            time.sleep(poll_seconds)
