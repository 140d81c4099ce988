"""The Learning page: run a training round without waiting on it, and see what rounds did.

A round starts after a confirmation and runs in its own process (``training``): a progress
bar follows it (the page polls the store's round row and the round's log) while every other
page stays usable, and the page refreshes when it ends. Then the latest verdict, the success
matrix, the forgetting curves and the rounds, with a choice of the adapter to plan with. Every
line reads the store as it is now, so no verdict stands beside "no rounds yet".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.look import header
from robolearn.dashboard.plain import escaped
from robolearn.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from robolearn.dashboard.training import TrainingJob
    from robolearn.store import RoundRow

_JOB = "learning_job"
_CONFIRM = "learning_confirm"
_FAILED = "learning_failed"
POLL_SECONDS = 1.5  # how often a running round's progress is read


def success_matrix(rounds: list[RoundRow]) -> list[dict[str, Any]]:
    """One row before any training (the first round's incumbent), then one a finished round.

    Each row holds the round, its status and held-out success per family of its new adapter.
    """
    judged = [r for r in rounds if r.metrics.get("candidate")]
    if not judged:
        return []
    rows = [{"round": "base", "status": "", **judged[0].metrics["incumbent"]}]
    rows += [{"round": str(r.id), "status": r.status, **r.metrics["candidate"]} for r in judged]
    return rows


def forgetting_curves(rounds: list[RoundRow]) -> list[dict[str, Any]]:
    """Success per family of the adapter in use after each round (long form, for a chart).

    A refused round leaves the previous adapter in use, so its point repeats the last one.
    """
    judged = [r for r in rounds if r.metrics.get("candidate")]
    points: list[dict[str, Any]] = []
    in_use: dict[str, float] = judged[0].metrics["incumbent"] if judged else {}
    for step, row in enumerate([None, *judged]):
        if row is not None and row.status == "promoted":
            in_use = row.metrics["candidate"]
        points += [
            {"after round": step, "family": family, "success": rate}
            for family, rate in sorted(in_use.items())
        ]
    return points


def latest_verdict(rounds: list[RoundRow]) -> tuple[bool, str] | None:
    """Whether the newest finished round was promoted, and its verdict in a sentence.

    None before any round has finished.
    """
    finished = [r for r in rounds if r.status != "running"]
    if not finished:
        return None
    last = finished[-1]
    said = {
        "promoted": "was promoted: its adapter is in use",
        "refused": "was refused: the adapter in use stays",
        "failed": "failed",
        "interrupted": "was interrupted (its process died)",
    }[last.status]
    return last.status == "promoted", f"Round {last.id} {said}: {last.reason}"


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    import pandas as pd

    from robolearn.learn.adapters import active
    from robolearn.planner.identity import model_identity

    header("Learning", "Training rounds on the corrections, and what each did to every family.")
    model = _model()
    if model is None:
        return
    base = model_identity(model)
    with session.open_store() as store:
        rounds = store.rounds(base)
        in_use = active(store, session.workspace(), base).round_id
        pending = len(store.corrections(since_id=rounds[-1].last_correction_id if rounds else 0))
    st.caption(
        f"Base model {escaped(base)}; planning with "
        + ("the base model alone" if in_use is None else f"the adapter of round {in_use}")
        + f"; {pending} correction{'' if pending == 1 else 's'} since the last round."
    )
    _render_training(rounds, pending)
    verdict = latest_verdict(rounds)
    if verdict is not None:
        promoted, sentence = verdict
        (st.success if promoted else st.warning)(escaped(sentence))
    matrix = success_matrix(rounds)
    if not rounds:
        st.info(
            "No training rounds yet: correct some episodes, then run a round here or with "
            "`robolearn train`."
        )
        return
    if matrix:
        _render_matrix(pd.DataFrame(matrix).set_index("round"))
        st.subheader("Forgetting curves (the adapter in use after each round)")
        st.line_chart(
            pd.DataFrame(forgetting_curves(rounds)), x="after round", y="success", color="family"
        )
    _render_rounds(rounds, in_use, model)


def _model() -> Path | None:
    """The base model folder the dashboard plans with, or None (with a note) if missing."""
    from robolearn.dashboard.run import lm_missing
    from robolearn.workspace import Workspace

    missing = lm_missing(session.workspace())
    if missing:
        st.info(escaped(missing))
        return None
    return Workspace(session.workspace()).default_model


def _render_training(rounds: list[RoundRow], pending: int) -> None:
    """A running round's progress; else the button, and its confirmation."""
    failed = st.session_state.pop(_FAILED, None)
    if failed is not None:
        st.error(escaped(f"The training round stopped: {failed or 'no output'}"))
    job: TrainingJob | None = st.session_state.get(_JOB)
    elsewhere = [r for r in rounds if r.status == "running"]
    if job is not None or elsewhere:
        _poll(elsewhere[-1].id if elsewhere else None)
        return
    if not st.session_state.get(_CONFIRM):
        st.button(
            "Run a training round",
            type="primary",
            key="learning_train",
            icon=":material/model_training:",
            on_click=_ask,
            args=(True,),
        )
        return
    with st.container(border=True):
        st.markdown(
            f"**Train a round on the {pending} new corrections?** It runs in the background "
            "(a few minutes on this machine, one CPU thread) and is judged on every family "
            "before it is used; the dashboard stays usable meanwhile."
        )
        left, right, _ = st.columns([1, 1, 3])
        if left.button("Start the round", type="primary", key="learning_start", width="stretch"):
            _start()
        right.button("Cancel", key="learning_cancel", on_click=_ask, args=(False,), width="stretch")


def _ask(asking: bool) -> None:
    st.session_state[_CONFIRM] = asking


def _start() -> None:
    from robolearn.dashboard.training import start_round

    st.session_state[_CONFIRM] = False
    st.session_state[_JOB] = start_round(session.workspace())
    st.rerun()


@st.fragment(run_every=POLL_SECONDS)
def _poll(round_id: int | None) -> None:
    """The running round's progress, read again every few seconds; the page reruns at its end."""
    job: TrainingJob | None = st.session_state.get(_JOB)
    if job is None:  # started elsewhere (another browser, robolearn train): the store says
        with session.open_store() as store:
            if store.training_round(round_id).status != "running":
                st.rerun()
        st.progress(0.0, text=f"Round {round_id} is running (started elsewhere)…")
        return
    if not job.running:
        st.session_state.pop(_JOB)
        if job.returncode != 0:
            st.session_state[_FAILED] = job.last_line()
        st.rerun()
    progress = job.progress()
    elapsed = time.time() - job.started
    st.progress(
        progress.fraction,
        text=f"Training round running: {progress.phase} ({progress.fraction:.0%}, "
        f"{elapsed:.0f} s). Other pages stay usable.",
    )


def _render_matrix(frame: Any) -> None:
    st.subheader("Success matrix (held-out scenes, each round's new adapter)")
    families = [c for c in frame.columns if c != "status"]
    st.dataframe(
        frame.style.format("{:.0%}", subset=families).background_gradient(
            cmap="RdYlGn", vmin=0, vmax=1, subset=families
        )
    )


def _render_rounds(rounds: list[RoundRow], in_use: int | None, model: Path) -> None:
    from robolearn.learn.adapters import use_round

    st.subheader("Rounds")
    st.dataframe(
        [
            {
                "round": r.id,
                "status": r.status,
                "in use": "✓" if r.id == in_use else "",
                "new": r.metrics.get("dataset", {}).get("new"),
                "replay": r.metrics.get("dataset", {}).get("replay"),
                "seconds": round(r.metrics.get("seconds", 0.0)),
                "reason": r.reason,
                "started": r.created,
            }
            for r in reversed(rounds)
        ],
        hide_index=True,
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )
    choices = ["base"] + [str(r.id) for r in rounds if r.path]
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    choice = left.selectbox("Plan with", choices, key="learning_use_choice")
    if right.button("Use this adapter", key="learning_use"):
        with session.open_store() as store:
            try:
                use_round(
                    store,
                    session.workspace(),
                    model,
                    None if choice == "base" else int(choice),
                    "chosen in the dashboard",
                )
            except UserError as error:
                st.error(escaped(error))
                return
        st.rerun()


if __name__ == "__main__":
    render()
