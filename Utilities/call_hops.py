"""Count the hops (nested nbrisk function calls) from a CLI verb to the function that writes its output.

Usage: python Utilities/call_hops.py WRITER -- nbrisk ARGS...
  WRITER: the qualified name of the writing function, e.g. nbrisk.features.cohort.write_features_csv

Runs the command in-process under a profiler and prints, for the first call of WRITER, the chain of nbrisk
functions from the verb's ``run`` down to it, and its length (the hops). Also prints how many distinct
nbrisk modules the command's calls passed through.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    writer = argv[1]
    cmd = argv[argv.index("--") + 2:]
    stack: list[str] = []
    found: list[list[str]] = []
    modules: set[str] = set()

    def prof(frame, event, arg):  # noqa: ANN001
        if event not in ("call", "return"):
            return
        mod = frame.f_globals.get("__name__", "")
        if not mod.startswith("nbrisk"):
            return
        name = f"{mod}.{frame.f_code.co_qualname}"
        if event == "call":
            stack.append(name)
            modules.add(mod)
            if not found and (name == writer or name.endswith("." + writer)):
                found.append(list(stack))
        elif stack and stack[-1] == name:
            stack.pop()

    from nbrisk.cli import main as cli_main

    sys.setprofile(prof)
    try:
        rc = cli_main(cmd)
    finally:
        sys.setprofile(None)
    if not found:
        print(f"{writer} was not called (exit {rc})")
        return 1
    chain = found[0]
    start = next((i for i, n in enumerate(chain) if n.endswith(".run") and ".cli." in n), 0)
    chain = chain[start:]
    print(" -> ".join(chain))
    print(f"hops: {len(chain) - 1}; nbrisk modules touched by the command: {len(modules)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
