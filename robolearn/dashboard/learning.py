"""The Learning page: the rounds' success matrix and forgetting curves, and their controls.

It shows the adapter in use, and has buttons to run a round or to plan with another round's
adapter (or the base model alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.plain import escaped
from robolearn.errors import UserError

if TYPE_CHECKING:
    from robolearn.store import RoundRow

_OUTCOME = "learning_last_outcome"


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


def _model() -> Any:
    """The base model folder the dashboard plans with, or None (with a note) if missing."""
    from robolearn.dashboard.run import lm_missing
    from robolearn.workspace import Workspace

    missing = lm_missing(session.workspace())
    if missing:
        st.info(escaped(missing))
        return None
    return Workspace(session.workspace()).default_model


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    import pandas as pd

    from robolearn.learn.adapters import active
    from robolearn.planner.identity import model_identity

    st.title("Learning")
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
        + f"; {pending} corrections since the last round."
    )
    _render_train_button(model)
    matrix = success_matrix(rounds)
    if not matrix:
        st.info(
            "No training rounds yet: correct some episodes, then run a round here or with "
            "`robolearn train`."
        )
        return
    st.subheader("Success matrix (held-out scenes, each round's new adapter)")
    frame = pd.DataFrame(matrix).set_index("round")
    families = [c for c in frame.columns if c != "status"]
    st.dataframe(
        frame.style.format("{:.0%}", subset=families).background_gradient(
            cmap="RdYlGn", vmin=0, vmax=1, subset=families
        )
    )
    st.subheader("Forgetting curves (the adapter in use after each round)")
    st.line_chart(
        pd.DataFrame(forgetting_curves(rounds)), x="after round", y="success", color="family"
    )
    _render_rounds(rounds, in_use, model)


def _render_train_button(model: Any) -> None:
    from robolearn.learn.lora import LoraSettings
    from robolearn.learn.rounds import RoundConfig, run_round

    if st.button("Run a training round", type="primary", key="learning_train"):
        # One thread: the dashboard and a headless run may be busy on the other core.
        config = RoundConfig(lora=LoraSettings(threads=1))
        try:
            with st.spinner("Training a LoRA adapter and evaluating it on every family..."):
                outcome = run_round(
                    session.workspace(), model, config, progress=False, log=lambda _: None
                )
        except UserError as error:
            st.error(escaped(error))
            return
        st.session_state[_OUTCOME] = (outcome.round_id, outcome.promoted, outcome.reason)
    if _OUTCOME in st.session_state:
        round_id, promoted, reason = st.session_state[_OUTCOME]
        show = st.success if promoted else st.warning
        verdict = "promoted" if promoted else "kept the adapter in use"
        show(escaped(f"Round {round_id} {verdict}: {reason}"))


def _render_rounds(rounds: list[RoundRow], in_use: int | None, model: Any) -> None:
    import pandas as pd

    from robolearn.learn.adapters import use_round

    st.subheader("Rounds")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "round": r.id,
                    "status": r.status,
                    "in use": r.id == in_use,
                    "new": r.metrics.get("dataset", {}).get("new"),
                    "replay": r.metrics.get("dataset", {}).get("replay"),
                    "seconds": round(r.metrics.get("seconds", 0.0)),
                    "reason": r.reason,
                    "started": r.created,
                }
                for r in reversed(rounds)
            ]
        ),
        hide_index=True,
    )
    choices = ["base"] + [str(r.id) for r in rounds if r.path]
    left, right = st.columns([1, 3])
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
