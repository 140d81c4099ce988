"""``python -m robolearn.cli``: the ``robolearn`` command (what the tests run)."""

import sys

from robolearn.cli import main

sys.exit(main())
