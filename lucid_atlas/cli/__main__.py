"""``python -m lucid_atlas.cli``: the ``lucid-atlas`` command."""

import sys

from . import main

sys.exit(main())
