"""Compare the ingest speed of two git revisions in paired, alternating runs.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/compare_revisions.py BASE [HEAD] [--pairs 5]

A shared virtual machine can change speed by two or three times within minutes, so two
separate benchmark runs say little about a change worth 5%. This script exports both
revisions (``git archive``, no worktree left behind), then runs this checkout's
``benchmarks/ingest.py`` against each in turn, A B, B A, A B, ..., and prints every
run's testcases/s and the median of the per-pair ratios HEAD / BASE for new and for
known tests. Both revisions use this checkout's benchmark and virtual environment, so
only their application code differs (revisions that need other packages are not
comparable this way). HEAD defaults to the working tree as it is, uncommitted changes
included.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "benchmarks" / "ingest.py"
WORKING_TREE = "working-tree"


def export(revision: str, into: Path) -> Path:
    """Return a folder holding `revision`'s files (this checkout for WORKING_TREE)."""
    if revision == WORKING_TREE:
        return ROOT
    folder = into / revision.replace("/", "_")
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def measure(code: Path, *, cases: int, repeat: int) -> dict:
    """Run the ingest benchmark on the checkout at `code`; return its JSON figures."""
    command = [sys.executable, str(BENCHMARK), "--code", str(code), "--cases", str(cases)]
    command += ["--repeat", str(repeat), "--big", "0", "--no-baseline", "--json"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    # ingest.py exits (check=True raises) when it imported other code than `code`.
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the revision to compare against, e.g. HEAD~3")
    parser.add_argument("head", nargs="?", default=WORKING_TREE, help="default: working tree")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--cases", type=int, default=100_000)
    # One ingest per run is too noisy here: its spread is as wide as the changes measured.
    parser.add_argument("--repeat", type=int, default=3, help="ingests per run (median)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server, as for benchmarks/ingest.py")

    with tempfile.TemporaryDirectory(prefix="passline-compare-") as tmp:
        code = {rev: export(rev, Path(tmp)) for rev in (args.base, args.head)}
        runs: dict[str, list[dict]] = {args.base: [], args.head: []}
        for pair in range(args.pairs):
            order = (args.base, args.head) if pair % 2 == 0 else (args.head, args.base)
            for rev in order:
                figures = measure(code[rev], cases=args.cases, repeat=args.repeat)
                runs[rev].append(figures)
                print(
                    f"pair {pair + 1} {rev:>14}: new {figures['new']:>9,.0f}/s, "
                    f"known {figures['known']:>9,.0f}/s, "
                    f"calibration {figures['calibration_ms']:.0f} ms",
                    flush=True,
                )
    for kind in ("new", "known"):
        ratios = [
            head[kind] / base[kind]
            for base, head in zip(runs[args.base], runs[args.head], strict=True)
        ]
        every = ", ".join(f"{r:.3f}" for r in ratios)
        print(
            f"{kind:>5} tests: {args.head} / {args.base} = {statistics.median(ratios):.3f} "
            f"(median of {len(ratios)} pairs: {every})"
        )


if __name__ == "__main__":
    main()
