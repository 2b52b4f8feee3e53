"""Check a crossmodal dataset root (meta.json + split files + modality folders) in one pass.

Usage::

    python tools/check_dataset.py data/nyudv2 [--json]

Reports every problem found (missing files per modality, unreadable or truncated files, size
mismatches, label values outside the classes and not void, wrong bit depth/channels vs meta.json,
NaN/inf pixels in float inputs, empty depth, empty split files, split stems without files) and a
summary (stems per split, class histogram, value ranges in each modality's meta.json unit, image
sizes). Exit status 1 when any problem exists. Implementation: data_prep/check.py, on the rules of
crossmodal/datasets/validation.py that the loader uses as well (the checker collects every problem,
the loader raises on the first).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_prep.check import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
