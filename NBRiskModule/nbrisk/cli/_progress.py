"""A step counter on stderr for verbs whose work is a few long steps (``[2/4] extracting features ...``)."""

from __future__ import annotations

import sys
import time


class Steps:
    """Print ``[i/n] what`` on stderr as each step starts, and the elapsed time when all are done."""

    def __init__(self, verb: str, total: int, quiet: bool = False) -> None:
        self.verb, self.total, self.quiet = verb, total, quiet
        self.i = 0
        self.t0 = time.monotonic()

    def __call__(self, what: str) -> None:
        self.i += 1
        if not self.quiet:
            print(f"nbrisk {self.verb} [{self.i}/{self.total}] {what} ...", file=sys.stderr, flush=True)

    def done(self) -> None:
        if not self.quiet:
            print(f"nbrisk {self.verb}: done in {time.monotonic() - self.t0:.1f} s", file=sys.stderr, flush=True)
