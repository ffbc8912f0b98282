"""``python -m jupyter_dataops.backends.local``: run the local worker (see worker.py)."""

import sys

from .worker import main

sys.exit(main())
