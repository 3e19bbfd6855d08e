"""``python -m meshchat``: the same as the ``meshchat`` command."""

import sys

from meshchat.cli import main

sys.exit(main())
