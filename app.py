"""The robolearn dashboard: ``streamlit run app.py`` (the workspace: ``$ROBOLEARN_WORKSPACE``).

Thin on purpose: the pages live in ``robolearn/dashboard/``. Serve it on this machine only::

    streamlit run app.py --server.address 127.0.0.1 --browser.gatherUsageStats false
"""

from robolearn.dashboard.navigation import main
from robolearn.paths import workspace_dir

main(workspace_dir())
