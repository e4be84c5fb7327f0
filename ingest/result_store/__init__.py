"""Write one upload's results: tests created as needed, results merged per run.

``ResultWriter`` is the entry point; ``rows`` holds the staged-row layout and the merge
rule, ``copy`` the PostgreSQL COPY fast path and ``setbased`` the stage-and-merge path
that handles everything else.
"""

from .rows import ERROR, FAILED, PASSED, SKIPPED, Counts, merge_row
from .writer import CHUNK_SIZE, ResultWriter

__all__ = [
    "CHUNK_SIZE",
    "ERROR",
    "FAILED",
    "PASSED",
    "SKIPPED",
    "Counts",
    "ResultWriter",
    "merge_row",
]
