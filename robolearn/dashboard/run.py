"""The Run page: start one task (family, seed, planner), run it with frames, store it, show it.

The episode is stored through ``RunRecorder`` into the workspace's store, exactly as a
headless ``robolearn run --frames`` stores one, as a run of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.episode_view import render_episode
from robolearn.errors import UserError
from robolearn.workspace import PLANNERS, PlannerChoice, Workspace

if TYPE_CHECKING:
    from robolearn.store import Store

_LAST = "run_last_episode"


def families() -> list[str]:
    """The task families, by name."""
    from robolearn.tasks.spec import load_families

    return sorted(load_families())


def lm_missing(workspace: Path) -> str | None:
    """Why the lm planner cannot run in ``workspace`` (its default model is missing), or None."""
    model = Workspace(workspace).default_model
    if (model / "config.json").is_file():
        return None
    return (
        f"The lm planner needs this workspace's default model, which is not built yet "
        f"({model}). Build it once (a few minutes) with "
        f"`robolearn bootstrap --workspace {workspace}`, then rerun this page."
    )


def run_one(store: Store, workspace: Path, family: str, seed: int, planner_name: str) -> int:
    """Run task ``seed`` of ``family`` with frames and store it as a run of its own; its id.

    The episode runs as one of ``robolearn run --frames``: the same rollout setup (planner with
    the adapter in use and the correction memory), the same runner, the same recorder.
    """
    from robolearn.rollout import RunRecorder
    from robolearn.rollout.jobs import EpisodeJob, EpisodeRunner

    if seed < 0:
        raise UserError(f"the seed must be 0 or more, not {seed}")
    space = Workspace(workspace)
    setup = space.rollout(PlannerChoice(planner_name))
    runner = EpisodeRunner(setup.build(), frames=True)
    try:
        record = runner.run(EpisodeJob(0, family, seed))
    finally:
        runner.close()
    run_id = store.start_run(
        setup.name, seed, {"families": [family], "episodes": 1, "source": "dashboard"}
    )
    return RunRecorder(store, run_id, workspace, frames=True).save(record)


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    workspace = session.workspace()
    st.title("Run a task")
    st.caption(f"Workspace: {workspace}")
    names = families()
    left, middle, right = st.columns(3)
    family = left.selectbox("Task family", names, key="run_family")
    seed = int(middle.number_input("Seed", min_value=0, value=0, step=1, key="run_seed"))
    planner = right.radio(
        "Planner", PLANNERS, index=PLANNERS.index("oracle"), horizontal=True, key="run_planner"
    )
    missing = lm_missing(workspace) if planner == "lm" else None
    if missing:
        st.info(missing)
    if st.button("Run episode", type="primary", disabled=missing is not None, key="run_go"):
        with (
            st.spinner(f"Running {family} seed {seed} with the {planner} planner…"),
            session.open_store() as store,
        ):
            try:
                episode_id = run_one(store, workspace, family, seed, planner)
            except UserError as error:
                st.error(str(error))
            else:
                st.session_state[_LAST] = episode_id
                session.set_open_episode(episode_id)
                st.success(
                    f"Stored as episode {episode_id}. Open it on the Episodes page, "
                    "or correct it on the Correct page."
                )
    last = st.session_state.get(_LAST)
    if last is not None:
        with session.open_store() as store:
            render_episode(store.episode(last), workspace, key="run_frame")


if __name__ == "__main__":
    render()
