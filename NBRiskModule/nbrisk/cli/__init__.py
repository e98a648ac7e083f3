"""The ``nbrisk`` command line: one verb per stage.

Each verb lives in its own module of this package and exposes ``COMMAND`` (the verb), ``HELP`` and
``add_arguments(parser)`` plus ``run(args) -> int``. Modules are discovered with ``pkgutil`` from this
package itself (no entry points), so adding a verb means adding one file.
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit status (0 ok, 1 some cases failed, 2 user error)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    level = logging.ERROR if args.quiet else (logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("radiomics").setLevel(max(level, logging.ERROR))
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except NBRiskError as exc:
        print(f"nbrisk {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nbrisk: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
