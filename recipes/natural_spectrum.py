"""Recipe: estimate the mean natural-image amplitude spectrum of a folder of images (for phase-only,
magnitude-constrained renders: ``IconSettings(spectrum="natural")``, ``param.natural_image``).

    python recipes/natural_spectrum.py ../shared/imagenet-samples --out lucid_atlas/optvis/data/natural_spectrum.npz
"""

import argparse
import sys

from lucid_atlas.io import images as image_io
from lucid_atlas.optvis import spectrum


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("images", help="folder of images (searched recursively)")
    p.add_argument("--size", type=int, default=spectrum.REFERENCE_SIZE, help="square side in px")
    p.add_argument("--out", required=True, help="where to write the .npz")
    args = p.parse_args(argv)
    paths = image_io.list_images(args.images)
    try:
        magnitude, count = spectrum.estimate_magnitude(paths, args.size)
    except ValueError as err:
        print(f"error: {err} in {args.images}", file=sys.stderr)
        return 2
    spectrum.save_magnitude(args.out, magnitude, count)
    print(f"{args.out}: the mean spectrum of {count} images ({len(paths) - count} unreadable, skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
