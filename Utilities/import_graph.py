"""Print the core package's import graph: rooms (modules), arrows, circles, hidden and upward arrows.

Usage: python Utilities/import_graph.py [PACKAGE_DIR]   (default: NBRiskModule/nbrisk)

- an arrow is ``A imports B`` for two modules of the package (``from nbrisk.x import y`` counts as an
  arrow to ``nbrisk.x.y`` when that is a module, else to ``nbrisk.x``);
- a hidden arrow is one made inside a function (not at import time);
- a circle is a strongly connected set of two or more modules (through any arrows, hidden ones included);
- an upward arrow runs from a lower pipeline stage to a higher one (STAGES order below).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

STAGES = ["errors", "io", "segmentation", "features", "reproducibility", "modeling", "bundle", "staging", "prediction",
          "synthetic", "cli"]


def modules(pkg: Path) -> dict[str, Path]:
    out = {}
    for p in sorted(pkg.rglob("*.py")):
        rel = p.relative_to(pkg.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def edges(pkg: Path) -> list[tuple[str, str, bool]]:
    mods = modules(pkg)
    root = pkg.name
    result = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node

        def hidden(node: ast.AST, parents: dict = parents) -> bool:
            while node in parents:
                node = parents[node]
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    return True
            return False

        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    targets.append(full if full in mods else node.module)
            for t in targets:
                if t.split(".")[0] != root or t == name:
                    continue
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != name and t != root:
                    result.append((name, t, hidden(node)))
    return sorted(set(result))


def sccs(nodes: list[str], adj: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def stage_of(name: str, flat_map: dict[str, str] | None = None) -> int | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    key = parts[1]
    if flat_map and key in flat_map:
        key = flat_map[key]
    return STAGES.index(key) if key in STAGES else None


# the flat layout's modules, by the stage they belonged to (to count upward arrows before the reshape)
FLAT = {"io": "io", "segfiles": "io", "nrrd_block": "io", "structures": "io", "segmentation": "segmentation",
        "region_competition": "segmentation", "presets": "features", "preprocess": "features", "features": "features",
        "fastextract": "features", "cohort": "features", "icc": "reproducibility", "agreement": "reproducibility",
        "perturb": "reproducibility", "study": "reproducibility", "study_import": "reproducibility",
        "study_analysis": "reproducibility", "study_report": "reproducibility", "bundle": "bundle",
        "bundle_safety": "bundle", "bundle_import": "bundle", "predict": "prediction", "review": "prediction",
        "report": "prediction", "idrf": "staging", "idrf_csv": "staging", "idrf_defs": "staging", "inrg": "staging",
        "surgical_risk": "staging", "hints": "staging", "hints_anatomy": "staging", "hints_geometry": "staging",
        "phantom": "synthetic", "demo": "synthetic", "demo_steps": "synthetic"}


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("-")]
    pkg = Path(args[0] if args else "NBRiskModule/nbrisk").resolve()
    mods = modules(pkg)
    es = edges(pkg)
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b, _ in es:
        adj[a].add(b)
    circles = sccs(sorted(mods), adj)
    up = [(a, b) for a, b, _ in es
          if (sa := stage_of(a, FLAT)) is not None and (sb := stage_of(b, FLAT)) is not None and sb > sa]
    hidden = [(a, b) for a, b, h in es if h]
    print(f"rooms (modules): {len(mods)}")
    print(f"arrows (imports between modules): {len(es)}")
    print(f"hidden arrows (inside functions): {len(hidden)}")
    print(f"circles: {len(circles)}")
    for c in circles:
        print("  circle:", " <-> ".join(c))
    print(f"upward arrows (lower stage imports a higher one): {len(up)}")
    for a, b in up:
        print(f"  up: {a} -> {b}")
    if "-v" in argv:
        for a, b in hidden:
            print(f"  hidden: {a} -> {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
