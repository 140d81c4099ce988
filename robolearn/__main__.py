"""``python -m robolearn``: the ``robolearn`` command, for environments without the script.

Tests and benchmarks start subprocesses this way with ``sys.executable``, so the child runs the
same interpreter and the same checkout as its parent.
"""

import sys

from robolearn.cli import main

sys.exit(main())
