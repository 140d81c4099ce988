"""The Episodes page's dataset export: the workspace as a Hugging Face dataset, zipped.

The same folder ``robolearn export dataset OUT`` writes (``robolearn.export``), built when the
button is clicked (not on every page run) and handed to the browser as one zip.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from robolearn.store import Store

EXPORT_NAME = "robolearn-dataset.zip"


def dataset_zip(workspace: Path) -> bytes:
    """The workspace's episodes, steps, corrections and frames as a dataset, zipped."""
    from robolearn.export import export_dataset

    with tempfile.TemporaryDirectory(prefix="robolearn-dataset-") as folder:
        out = Path(folder) / "dataset"
        with Store.open(workspace, read_only=True) as store:
            export_dataset(store, out)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(out).as_posix())
        return buffer.getvalue()


def render_export(workspace: Path) -> None:
    """The download button."""
    st.download_button(
        "Export as a Hugging Face dataset (.zip)",
        data=lambda: dataset_zip(workspace),
        file_name=EXPORT_NAME,
        mime="application/zip",
        key="episodes_export",
        icon=":material/download:",
        help="Episodes, steps and corrections as parquet files, the frames as PNG files and "
        'a dataset card; datasets.load_dataset("parquet", data_files=...) reads them. '
        "The command line: robolearn export dataset OUT",
    )
