"""Recipe: `lucid-atlas toolbox` as a script (the Deep Visualization Toolbox in the browser). Run with --help."""

import sys

from lucid_atlas.cli import main

if __name__ == "__main__":
    sys.exit(main(["toolbox", *sys.argv[1:]]))
