"""The Skills page: browse the library, its provenance, versions and record; export it as a zip.

The text filter runs on names and descriptions at no cost. Semantic search (the Searcher's
embeddings) loads torch and the embedding model, so it runs only when asked for.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from robolearn.dashboard import session
from robolearn.dashboard.plain import escaped

if TYPE_CHECKING:
    from robolearn.skills.embeddings import TextEmbedder
    from robolearn.skills.library import SkillLibrary
    from robolearn.skills.searcher import SearchResult
    from robolearn.store import SkillStats

EXPORT_NAME = "robolearn-skills.zip"


def skill_rows(
    library: SkillLibrary, records: dict[str, SkillStats], query: str = ""
) -> list[dict[str, Any]]:
    """One row a skill whose name or description holds every word of ``query`` (any case).

    ``records`` is the store's record of each skill (``Store.skill_stats``).
    """
    words = query.lower().split()
    rows = []
    for name in library.names():
        skill = library.get(name)
        text = f"{name} {name.replace('_', ' ')} {skill.description}".lower()
        if not all(word in text for word in words):
            continue
        composite = library.composites.get(name)
        stats = records.get(name) if composite else None
        rows.append(
            {
                "skill": name,
                "kind": "composite" if composite else "atomic",
                "version": composite.version if composite else None,
                "origin": composite.provenance.source if composite else "code",
                "runs ok": f"{stats.successes}/{stats.runs}" if stats and stats.runs else "-",
                "evaluations passed": (
                    f"{stats.passed}/{stats.evaluations}" if stats and stats.evaluations else "-"
                ),
                "signature": skill.signature,
                "description": skill.description,
            }
        )
    return rows


def version_rows(library: SkillLibrary, name: str) -> list[dict[str, Any]]:
    """Every stored version of a composite skill, oldest first, with its provenance."""
    return [
        {
            "version": v.version,
            "origin": v.provenance.source,
            "episode": v.provenance.episode,
            "correction": v.provenance.correction,
            "note": v.provenance.note,
            "steps": "; ".join(map(str, v.steps)),
            "content hash": v.content_hash,
        }
        for v in library.versions(name)
    ]


def export_zip(library: SkillLibrary) -> bytes:
    """The library as a bundle zip (``export_bundle``), as bytes to download."""
    from robolearn.skills.bundle import export_bundle

    with tempfile.TemporaryDirectory(prefix="robolearn-export-") as folder:
        return export_bundle(library, Path(folder) / EXPORT_NAME).read_bytes()


def semantic_search(
    library: SkillLibrary, workspace: Path, query: str, embedder: TextEmbedder
) -> SearchResult:
    """The Searcher's answer for ``query``; skill vectors come from the workspace's cache."""
    from robolearn.workspace import Workspace

    return Workspace(workspace).searcher(library, embedder).search(query)


@st.cache_resource(show_spinner=False)
def _embedder() -> TextEmbedder:
    """One embedding model per dashboard process (loading it takes seconds and ~700 MB)."""
    from robolearn.skills.embeddings import Embedder

    embedder = Embedder()
    embedder.load()
    return embedder


# ----- Streamlit view ----------------------------------------------------------------------
def render() -> None:
    """The page."""
    from robolearn.skills.library import SkillLibrary

    workspace = session.workspace()
    st.title("Skills")
    library = SkillLibrary.open(workspace)
    with session.open_store() as store:
        records = store.skill_stats()
    query = st.text_input(
        "Filter by name or description", key="skills_query", placeholder="e.g. stack, bowl, tower"
    )
    rows = skill_rows(library, records, query)
    st.caption(
        f"{len(rows)} of {len(library.names())} skills ({len(library.composites)} composite)"
    )
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.info(
            "No skill's name or description has every word of the filter; try "
            "semantic search, which matches meaning."
        )
    _render_search(library, workspace, query)
    _render_skill(library, records)
    st.subheader("Export")
    st.download_button(
        "Export the library (.zip)",
        data=export_zip(library),
        file_name=EXPORT_NAME,
        mime="application/zip",
        key="skills_export",
        help="A bundle `robolearn skills import` reads in another workspace",
    )


def _render_search(library: SkillLibrary, workspace: Path, query: str) -> None:
    """Semantic search behind a button: it loads the embedding model."""
    from robolearn.errors import UserError

    if st.button(
        "Semantic search",
        key="skills_semantic",
        disabled=not query.strip(),
        help="Rank skills by meaning with the Searcher's embeddings (loads torch "
        "and the embedding model: a few seconds the first time)",
    ):
        try:
            with st.spinner("Embedding (the model loads once, a few seconds)…"):
                result = semantic_search(library, workspace, query, _embedder())
        except UserError as error:
            st.error(escaped(error))
        else:
            st.markdown(f"**Decision: {result.decision}**")
            st.dataframe(
                [
                    {
                        "skill": m.name,
                        "similarity": round(m.similarity, 3),
                        "signature": m.signature,
                    }
                    for m in result.matches
                ],
                hide_index=True,
            )


def _render_skill(library: SkillLibrary, records: dict[str, SkillStats]) -> None:
    """One skill: signature, steps, effect, record, versions."""
    from robolearn.store import SkillStats

    st.subheader("Skill")
    name = st.selectbox(
        "Show",
        library.names(),
        key="skills_show",
        index=len(library.names()) - len(library.composites) if library.composites else 0,
    )
    skill = library.get(name)
    st.code(skill.signature, language=None)
    st.text(skill.description)
    if name not in library.composites:
        st.caption("Atomic skill: motion code in robolearn/skills/atomic.py.")
    else:
        composite = library.composites[name]
        st.markdown("**Steps:** " + escaped("; ".join(map(str, composite.steps))))
        st.markdown("**Effect:** " + escaped(", ".join(map(str, composite.effect))))
        stats = records.get(name, SkillStats())
        st.markdown(
            f"**Record:** evaluations passed {stats.passed}/{stats.evaluations}, "
            f"episodes succeeded {stats.successes}/{stats.runs}"
        )
        st.markdown("**Versions and provenance**")
        st.dataframe(version_rows(library, name), hide_index=True)


if __name__ == "__main__":
    render()
