"""The ``nbrisk`` command line: one verb per stage.

Each verb lives in its own module of this package and exposes ``COMMAND`` (the verb), ``HELP`` and
``add_arguments(parser)`` plus ``run(args) -> int``. Modules are discovered with ``pkgutil`` from this
package itself (no entry points), so adding a verb means adding one file.

Imports: every verb module is imported to build the parser, so a verb imports the core (and with it
scikit-learn, pyradiomics, SimpleITK) inside ``run``, not at module level: ``nbrisk --help`` then starts in
about 0.4 s instead of several seconds (a test checks that building the parser loads neither scikit-learn
nor pyradiomics). This is the one place where the core's modules are imported inside functions; everywhere
else a test forbids it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from nbrisk import __version__
from nbrisk.errors import NBRiskError

logger = logging.getLogger(__name__)


def _verb_modules() -> list:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "COMMAND") and hasattr(mod, "run"):
            mods.append(mod)
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbrisk",
        description="Neuroblastoma radiomics: extraction, reader studies, models, IDRF/INRG.",
    )
    parser.add_argument("--version", action="version", version=f"nbrisk {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _verb_modules():
        p = sub.add_parser(mod.COMMAND, help=mod.HELP.replace("%", "%%"), description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
        if hasattr(mod, "add_subcommands"):
            mod.add_subcommands(p)
    _describe_sub_verbs(parser)
    return parser


def _describe_sub_verbs(parser: argparse.ArgumentParser) -> None:
    """Give every sub-verb (``bundle inspect``, ``study export`` ...) its one-line help as description."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not sub.description and helps.get(name):
                    sub.description = str(helps[name]).replace("%%", "%")
                _describe_sub_verbs(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit status (0 ok, 1 some cases failed, 2 user error).

    Every failure a user can cause ends in one line ``nbrisk VERB: error: ...`` and status 2: typed
    NBRisk errors, and write failures (disk full, read-only or forbidden folder). An output location that
    cannot be written is refused before the verb starts, and folders created for ``--out`` by a run that
    fails are removed again (when empty). Anything else is a bug: one line saying so (``-vv`` shows the
    traceback), status 3.
    """
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.quiet:
        level = logging.ERROR
    elif args.verbose > 1:
        level = logging.DEBUG
    else:
        level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("radiomics").setLevel(max(level, logging.ERROR))
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 0 if argv is None or not list(argv) else 2
    from nbrisk.io.outputs import check_writable, new_dirs, os_error_message, remove_empty

    _quiet_itk(args.verbose)
    out = getattr(args, "out", None)
    created = new_dirs(out) if out is not None else []
    name = " ".join(v for v in (args.command, *(getattr(args, k, None) for k in _ACTIONS)) if isinstance(v, str))
    try:
        if out is not None:
            check_writable(out)
        return int(args._run(args) or 0)
    except NBRiskError as exc:
        _stop_progress()
        remove_empty(created)
        print(f"nbrisk {name}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `nbrisk presets --show NAME | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except OSError as exc:
        _stop_progress()
        remove_empty(created)
        print(f"nbrisk {name}: error: {os_error_message(exc, out)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _stop_progress()
        remove_empty(created)
        print("nbrisk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        _stop_progress()
        remove_empty(created)
        if args.verbose > 1:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        print(f"nbrisk {name}: internal error ({type(exc).__name__}: {first}); this is a bug in nbrisk: please "
              "report it with the output of the same command run with -vv", file=sys.stderr)
        return 3
    finally:
        _stop_progress()


_ACTIONS = ("bundle_action", "study_action")


def _stop_progress() -> None:
    """Stop pending progress printers before the error line, so none can print after (or into) it."""
    from nbrisk.cli._progress import cancel_all

    cancel_all()


def _quiet_itk(verbose: int) -> None:
    """ITK prints WARNING lines straight to stderr (e.g. GDCM on a non-DICOM folder); the CLI reports errors
    itself in one line, so ITK's own warnings show only with -v."""
    try:
        import SimpleITK as sitk
    except ImportError:  # pragma: no cover
        return
    sitk.ProcessObject.SetGlobalWarningDisplay(bool(verbose))


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second BrokenPipeError when Python flushes at exit
    except (OSError, ValueError):
        pass


def entry() -> None:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = 0
    sys.exit(code)
