"""Command line: load ESCO CSV bundles and write a compact snapshot.

    python -m jobmatch.server.esco.build_snapshot --esco-dir PATH/TO/ESCO/v1.1.1 \\
        --out server/jobmatch/server/esco/data/esco-v1.1.1-en.json.gz

``--esco-dir``: an official ESCO CSV release unpacked (the v1.1.1 English bundle with the
language-neutral relations for the bundled snapshot).

Run with the module path above; do not ``import jobmatch.server.esco.build_snapshot`` in
library code (importing it rebinds the package attribute ``build_snapshot`` from the function
to this module).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .errors import EscoFormatError
from .loader import load_bundles
from .snapshot import ATTRIBUTION, build_snapshot, default_snapshot_path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the snapshot, print a summary; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m jobmatch.server.esco.build_snapshot", description=__doc__)
    parser.add_argument(
        "--esco-dir",
        action="append",
        required=True,
        type=Path,
        help="an ESCO CSV bundle directory (repeat for more languages)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output file (default: the bundled snapshot)")
    parser.add_argument("--version", default=None, help="ESCO version, e.g. v1.1.1 (default: from the paths)")
    parser.add_argument("--strict", action="store_true", help="fail on dangling relations and other problems")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        dataset = load_bundles(args.esco_dir, version=args.version, strict=args.strict)
    except EscoFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    loaded = time.perf_counter() - started
    out = args.out or default_snapshot_path()
    size = build_snapshot(dataset, out)
    counts = dataset.relation_counts()
    print(
        f"ESCO {dataset.version} ({', '.join(dataset.languages)}): {len(dataset.occupations)} occupations, "
        f"{len(dataset.skills)} skills, {len(dataset.isco_groups)} ISCO groups, "
        f"{counts['essential']} essential + {counts['optional']} optional relations; loaded in {loaded:.2f} s"
    )
    for problem in dataset.problems:
        print(f"  problem: {problem}")
    print(f"wrote {out} ({size:,} bytes)")
    print(ATTRIBUTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
