"""The simulated corrector: stands in for the person in headless tests and benchmarks.

It knows each task's ground truth (the family's oracle plan) and, like a person watching the
replay, finds the first step where the robot went wrong and puts the right plan from there on,
through the same correction API the dashboard uses.
"""

from __future__ import annotations

from robolearn.calls import first_difference
from robolearn.correction import CorrectionAPI, Rerun

WHO = "simulated"


class SimulatedCorrector:
    """Corrects failed episodes with the oracle plan."""

    def __init__(self, api: CorrectionAPI) -> None:
        self.api = api

    def correct(self, episode_id: int) -> tuple[int, Rerun] | None:
        """Correct episode ``episode_id`` if its plan was wrong; the correction's id and re-run.

        A successful episode, or one that failed although its plan was the oracle's (a slip in
        simulation), gets no correction: there is no wrong step to point at.
        """
        episode = self.api.store.episode(episode_id)
        oracle = [str(call) for call in self.api.task_of(episode).oracle]
        if episode.success or episode.plan == oracle:
            return None
        first = first_difference(episode.plan, oracle)
        why = (
            f"step {first + 1} should be {oracle[first]}"
            if first < len(oracle)
            else f"the plan should end after step {first}"
        )
        correction = self.api.propose(episode_id, "\n".join(oracle), WHO, why)
        rerun = self.api.rerun(correction)
        return self.api.save(correction, rerun), rerun
