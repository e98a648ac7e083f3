"""Output locations: refuse an unwritable one before the work starts, and leave nothing behind on failure.

:func:`check_writable` creates nothing: it probes the nearest existing folder on the path with a temporary
file. :func:`new_dirs` lists the folders a run would create for an output path, so a failed run removes
exactly those (when still empty). :func:`os_error_message` turns a write failure (disk full, read-only file
system, no permission) into the one-line message the CLI prints.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from nbrisk.errors import InputError


def nearest_existing(path: str | Path) -> Path:
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable(target: str | Path, flag: str = "--out") -> None:
    """Raise InputError when ``target`` (a file or folder to create) cannot be written; creates nothing."""
    base = nearest_existing(target)
    if base.is_file() and base != Path(target).absolute():
        raise InputError(f"{target}: {base} is a file, not a folder; choose another {flag}")
    if base.is_file():
        base = base.parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".nbrisk-write-test-", dir=base)
    except OSError as exc:
        raise InputError(f"{target}: cannot write in {base} ({exc.strerror}); choose a writable {flag}") from None
    os.close(fd)
    os.unlink(probe)


def new_dirs(target: str | Path) -> list[Path]:
    """The folders on ``target``'s path that do not exist yet (deepest first), including ``target`` itself."""
    out, p = [], Path(target).absolute()
    while not p.exists() and p != p.parent:
        out.append(p)
        p = p.parent
    return out


def remove_empty(dirs: list[Path]) -> None:
    """Remove the folders of :func:`new_dirs` that a failed run created and left empty (deepest first)."""
    for d in dirs:
        try:
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        except OSError:
            pass


def os_error_message(exc: OSError, target: str | Path | None) -> str:
    """One line for a failed write or read: what happened where, and the fix."""
    where = target if target is not None else (exc.filename or "output")
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}: disk full ({reason}); free space there or choose another --out"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{where}: cannot write ({reason}); choose a writable --out"
    if exc.errno == errno.ENOENT:
        return f"{exc.filename or where}: not found ({reason}); check the path"
    return f"{exc.filename or where}: {reason}; check the path, free space and permissions"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def staging_dir(out_dir: str | Path) -> Path:
    """A new hidden staging folder beside ``out_dir`` (``.NAME.partial-HOST-PID-XXXX``), to be renamed onto
    ``out_dir`` when complete.

    A run killed outright (SIGKILL, power loss) cannot remove its staging folder; the next run does: staging
    folders of ``out_dir`` whose process (on this host) is gone are removed first, and said so on stderr.
    """
    import logging
    import shutil
    import socket
    import sys

    out_dir = Path(out_dir).absolute()
    host = socket.gethostname().replace("-", "_")[:32] or "host"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out_dir.name}.partial-"
    for old in out_dir.parent.glob(f"{prefix}*"):
        parts = old.name[len(prefix):].split("-")
        if len(parts) < 3 or parts[0] != host or not parts[1].isdigit() or _alive(int(parts[1])):
            continue
        shutil.rmtree(old, ignore_errors=True)
        sys.stderr.write(f"nbrisk: removed {old}, left by an interrupted run (process {parts[1]} is gone)\n")
        logging.getLogger(__name__).info("removed stale staging folder %s", old)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{host}-{os.getpid()}-", dir=out_dir.parent))


def output_lock(target: str | Path):
    """Hold an exclusive lock on ``target``'s results for the block: a second run on the same output is
    refused at once with a message naming the holder (its process id and start time).

    The lock is an ``flock`` on the hidden file ``.NAME.lock`` beside ``target``; the kernel drops it when
    the holder exits, even when killed, so a stale lock file never blocks a later run. The file is
    removed when the block ends. Without ``fcntl`` (Windows) there is no lock.
    """
    from contextlib import contextmanager, suppress

    @contextmanager
    def held():
        import datetime as _dt
        import json

        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield None
            return
        target_p = Path(target)
        lock = target_p.with_name(f".{target_p.name}.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
        acquired = False
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.seek(0)
                try:
                    who = json.loads(fh.read() or "{}")
                except ValueError:
                    who = {}
                holder = f" (process {who.get('pid')}, started {who.get('started')})" if who else ""
                raise InputError(f"{target}: another nbrisk run{holder} is writing these results; wait for it "
                                 "to finish or choose another --out") from None
            acquired = True
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "started": _dt.datetime.now().isoformat(timespec="seconds")}))
            fh.flush()
            yield lock
        finally:
            if acquired:
                with suppress(OSError):
                    lock.unlink()
            with suppress(OSError):  # a full disk can fail the close's flush too
                fh.close()

    return held()


def staged(out_dir: str | Path):
    """``with staged(path) as folder:`` a :func:`staging_dir` for ``path``, removed when the block ends."""
    import shutil
    from contextlib import contextmanager

    @contextmanager
    def block():
        folder = staging_dir(out_dir)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return block()
