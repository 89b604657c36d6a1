"""Recipe: `lucid-atlas patch` as a script. Run with --help for the options."""

import sys

from lucid_atlas.cli import main

if __name__ == "__main__":
    sys.exit(main(["patch", *sys.argv[1:]]))
