"""Run ``nbrisk`` CLI verbs in a ``qt.QProcess`` (``PythonSlicer -m nbrisk ...``) so the GUI never freezes.

One job at a time. Output lines are forwarded as they arrive (the panel shows them and parses ``k/n``
counters for the progress bar); when the process ends the callback receives the exit code and the last
error line, which for a user error is the core's one-line message (``nbrisk VERB: error: ...``).

Slicer specifics: ``PythonSlicer`` is a launcher that starts the real interpreter as its *child*, so the job
reports its own process id first (``NBRISK_PID=...``) and Cancel terminates that process as well as the
launcher. A process that cannot start emits ``errorOccurred`` but never ``finished``; that is reported like a
failed job. The QProcess has no Qt parent, so the runner keeps it referenced after ``finished`` (PythonQt would
delete it while its own signal is still being delivered) and releases it at the next start.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import qt

logger = logging.getLogger(__name__)

_COUNTER = re.compile(r"(\d+)\s*/\s*(\d+)")
PID_PREFIX = "NBRISK_PID="
# Run ``MODULE ARGS`` after printing our own pid (the launcher's child is what Cancel must stop).
BOOTSTRAP = ("import os, runpy, sys; print('" + PID_PREFIX + "%d' % os.getpid(), flush=True); "
             "module = sys.argv[1]; sys.argv = [module, *sys.argv[2:]]; "
             "runpy.run_module(module, run_name='__main__', alter_sys=True)")


def python_executable() -> str:
    """Return Slicer's ``PythonSlicer`` launcher if it is on PATH (as in Slicer), else this interpreter."""
    return shutil.which("PythonSlicer") or sys.executable


def core_path() -> str:
    """Return the folder that holds the ``nbrisk`` package (put on the subprocess's PYTHONPATH)."""
    import nbrisk

    return str(Path(nbrisk.__file__).resolve().parents[1])


def parse_progress(line: str) -> float | None:
    """Return the fraction done from a ``k/n`` counter in a log line, or None."""
    match = _COUNTER.search(line)
    if not match or int(match.group(2)) == 0:
        return None
    return min(1.0, int(match.group(1)) / int(match.group(2)))


def _text(data) -> str:
    raw = data.data() if hasattr(data, "data") else data
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else str(raw)


class CliRunner:
    """Start ``python -m nbrisk ARGS`` asynchronously and report output and completion through callbacks."""

    def __init__(self, module: str = "nbrisk") -> None:
        self.module = module
        self._process = None
        self.finished_process = None  # kept after 'finished' until the next start (see module docstring)
        self._on_finished: Callable[[int, str], None] | None = None
        self._on_output: Callable[[str, float | None], None] | None = None
        self._lines: list[str] = []
        self._child_pid: int | None = None
        self._cancelled = False
        self.command: list[str] = []

    def is_running(self) -> bool:
        return self._process is not None

    def start(self, args: Sequence[str], on_finished: Callable[[int, str], None],
              on_output: Callable[[str, float | None], None] | None = None) -> None:
        """Run ``nbrisk ARGS``; ``on_finished(exit_code, last_error_line)`` is called in the GUI thread."""
        if self._process is not None:
            raise RuntimeError("An NBRisk job is already running; wait for it or cancel it.")
        process = qt.QProcess()
        env = qt.QProcessEnvironment.systemEnvironment()
        old = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", core_path() + (os.pathsep + old if old else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(qt.QProcess.MergedChannels)
        self.command = [python_executable(), "-c", BOOTSTRAP, self.module, *map(str, args)]
        process.setProgram(self.command[0])
        process.setArguments(self.command[1:])
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.finished_process = None
        self._process, self._on_finished, self._on_output, self._lines = process, on_finished, on_output, []
        self._child_pid, self._cancelled = None, False
        logger.info("Running %s -m %s %s", self.command[0], self.module, " ".join(map(str, args)))
        process.start()

    def wait(self, msec: int = 600_000) -> bool:
        """Block until the job ends (tests and the in-Slicer self-test only); True if it finished."""
        process = self._process
        if process is None:
            return True
        if process.waitForStarted(msec):
            done = process.waitForFinished(msec)
            if self._process is not None and done:  # some bindings deliver 'finished' only from the event loop
                self._finished()
            return done
        if self._process is not None:  # failed to start; 'errorOccurred' may not have been delivered yet
            self._error(process.error())
        return self._process is None

    def cancel(self) -> None:
        """Stop the running job: the Python process itself (the launcher's child), then the launcher."""
        if self._process is None:
            return
        self._cancelled = True
        self._process.waitForReadyRead(200)  # the pid line comes first; read it if it has not been yet
        self._read()
        if self._child_pid is not None and self._child_pid != self._process.processId():
            try:
                os.kill(self._child_pid, signal.SIGTERM)
            except OSError as exc:  # already gone
                logger.info("NBRisk job %s: %s", self._child_pid, exc)
        self._process.kill()

    def _read(self, *_args) -> None:
        if self._process is None:
            return
        for line in _text(self._process.readAllStandardOutput()).splitlines():
            if not line.strip():
                continue
            if line.startswith(PID_PREFIX) and self._child_pid is None:
                self._child_pid = int(line[len(PID_PREFIX):])
                continue
            self._lines.append(line)
            if self._on_output is not None:
                self._on_output(line, parse_progress(line))

    def _finished(self, *_args) -> None:
        process, callback = self._process, self._on_finished
        if process is None:
            return
        self._read()
        code = process.exitCode()
        crashed = process.exitStatus() != qt.QProcess.NormalExit
        self.finished_process, self._process = process, None  # keep it alive past its own signal
        errors = [ln for ln in self._lines if "error:" in ln]
        last = errors[-1] if errors else (self._lines[-1] if self._lines else "")
        if self._cancelled:
            code, last = (code or -1), "cancelled by the user"
        elif crashed:
            code = code or -1
            last = last or "the nbrisk process crashed"
        if callback is not None:
            callback(code, last)

    def _error(self, error=None) -> None:
        """``errorOccurred``: only a failed start ends the job here ('finished' follows every other error)."""
        process, callback = self._process, self._on_finished
        if process is None or error != qt.QProcess.FailedToStart:
            return
        self.finished_process, self._process = process, None
        if callback is not None:
            callback(-1, f"error: could not start {self.command[0]} ({process.errorString()})")
