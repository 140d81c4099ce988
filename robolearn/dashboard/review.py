"""The Review page: episodes by the planner's doubt, the most doubted first.

So a person's corrections go where the robot is least sure (KnowNo's idea). Beside the queue:
how well doubt has predicted failure in this workspace so far (the AUROC, ``robolearn.doubt``).
Plans recalled from a correction, and scripted ones, carry no doubt and are not listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.look import episode_columns, episode_table, header
from robolearn.doubt import doubt_report

if TYPE_CHECKING:
    from robolearn.records import EpisodeRecord

QUEUE_LIMIT = 100  # most doubted episodes listed
REPORT_LIMIT = 5000  # newest doubted episodes the AUROC is measured on
_TABLE = "review_table"


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    header(
        "Review",
        "Episodes the planner was least sure of, first: correct these before the rest.",
    )
    uncorrected = st.toggle(
        "Only episodes nobody has corrected", value=True, key="review_uncorrected"
    )
    with session.open_store() as store:
        queue = store.doubted_episodes(limit=QUEUE_LIMIT, uncorrected=uncorrected)
        measured = store.doubted_episodes(limit=REPORT_LIMIT)
    report = doubt_report(measured)
    if not measured:
        st.info(
            "No episode has a doubt yet: the language-model planner records how unsure it is "
            "of each plan it writes (run some with `robolearn run` or on the Run page); a "
            "plan from a correction or a script has none."
        )
        return
    st.caption(report.line())
    if not queue:
        st.success("Every doubted episode has been corrected.")
        return
    _render_queue(queue)


def _render_queue(queue: list[EpisodeRecord]) -> None:
    event = st.dataframe(
        episode_table(queue),
        hide_index=True,
        key=_TABLE,
        on_select="rerun",
        selection_mode="single-row",
        column_config=episode_columns(),
        column_order=("doubt", "", "id", "family", "seed", "instruction", "failed at / why"),
        height=min(38 + 35 * len(queue), 500),
    )
    rows = event.selection.rows
    chosen = queue[rows[0]] if rows else queue[0]
    st.caption(f"Most doubted first; episode {chosen.id} chosen (click a row for another).")
    if st.button(
        f"Correct episode {chosen.id}", type="primary", key="review_correct", icon=":material/edit:"
    ):
        from robolearn.dashboard.navigation import page_file

        session.choose_to_correct(chosen.id)
        st.switch_page(page_file("correct"))


if __name__ == "__main__":
    render()
