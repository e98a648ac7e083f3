"""Progress on stderr for verbs whose work takes a while: a step counter (``[2/4] extracting ...``) or one line
per item. Nothing is printed for work that ends within ``NBRISK_PROGRESS_DELAY`` seconds (default 1): a
quick run, or a bad input refused at once, shows only its result or its one-line error."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_ACTIVE: list[Lines] = []


def cancel_all() -> None:
    """Stop every printer still waiting (a verb that failed before its ``done()``): no late line after the
    error."""
    while _ACTIVE:
        lines = _ACTIVE.pop()
        if lines.timer is not None:
            lines.timer.cancel()
        with lines.lock:
            lines.pending, lines.quiet = None, True


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("NBRISK_PROGRESS_DELAY", "1")))
    except ValueError:
        return 1.0


class Lines:
    """Print progress lines on stderr once the verb has run longer than the delay (the latest pending line
    first, when the delay passes, then every line as it comes)."""

    def __init__(self, verb: str, quiet: bool = False) -> None:
        self.verb, self.quiet = verb, quiet
        self.t0 = time.monotonic()
        self.delay = _delay()
        self.pending: str | None = None
        self.shown = False
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        if not quiet and self.delay > 0:
            self.timer = threading.Timer(self.delay, self._flush)
            self.timer.daemon = True
            self.timer.start()
        _ACTIVE.append(self)

    def _emit(self, text: str) -> None:
        sys.stderr.write(f"nbrisk {self.verb} {text}\n")  # one write: a line is never split by another thread
        sys.stderr.flush()

    def _flush(self) -> None:
        with self.lock:
            if self.quiet:
                return
            self.shown = True
            if self.pending is not None:
                self._emit(self.pending)
                self.pending = None

    def __call__(self, text: str) -> None:
        if self.quiet:
            return
        with self.lock:
            if self.shown or self.delay == 0:
                self.shown = True
                self._emit(text)
            else:
                self.pending = text

    def done(self) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.timer is not None:
            self.timer.cancel()
        with self.lock:
            if self.shown and not self.quiet:
                print(f"nbrisk {self.verb}: done in {time.monotonic() - self.t0:.1f} s", file=sys.stderr,
                      flush=True)
            self.pending = None


class Steps(Lines):
    """A step counter: ``steps("what")`` starts step i of n and prints ``[i/n] what ...``."""

    def __init__(self, verb: str, total: int, quiet: bool = False) -> None:
        super().__init__(verb, quiet)
        self.total, self.i = total, 0

    def __call__(self, what: str) -> None:  # type: ignore[override]
        self.i += 1
        super().__call__(f"[{self.i}/{self.total}] {what} ...")


@contextmanager
def case_bar(desc: str, quiet: bool) -> Iterator[Callable[[int, int, str], None]]:
    """A ``progress(i, n, case)`` callback for cohort runs that draws a tqdm bar on stderr, closed on exit."""
    from tqdm import tqdm

    bar = None

    def progress(i: int, n: int, case: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=n, desc=desc, unit="case", file=sys.stderr, disable=quiet)
        bar.set_postfix_str(case)
        bar.update(1)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
