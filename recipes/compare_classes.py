"""Recipe: `lucid-atlas compare-classes` as a script. Run with --help for the options."""

import sys

from lucid_atlas.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare-classes", *sys.argv[1:]]))
