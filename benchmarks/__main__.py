"""`python -m benchmarks [--smoke] [--output FILE] [--json FILE] [--only MODULE ...]
[--backend sqlite|postgres]`.

Full mode writes the table into benchmarks/README.md; `--smoke` runs tiny counts (for CI:
proves every benchmark works, figures meaningless) and prints the table instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmarks import runner


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the suite (or, with --child, one module)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts; no README update")
    parser.add_argument("--output", type=Path, help="write the table into this markdown file")
    parser.add_argument("--json", type=Path, help="also write every row as JSON here")
    parser.add_argument("--only", nargs="*", default=[], help="run only these modules")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        help="storage of the scale benchmarks (query_bench, viewer_bench); default sqlite",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.backend:  # the children inherit it
        os.environ["MYAGENT_BENCH_BACKEND"] = args.backend
    if args.child:
        runner.run_child(args.child, args.smoke, args.rows_out)
        return 0
    return runner.main(args.smoke, args.output, args.json, args.only)


if __name__ == "__main__":
    sys.exit(main())
