"""Compare IBSI-mode features with IBSI reference values (a CSV with dataset, family, tag, value, tolerance).

A reference value with tolerance 0 (the digital phantom's exact values) is published to 3 significant
digits; it passes when the feature rounds to it (half a unit of the third significant digit).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Comparison:
    dataset: str
    passed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[tuple[str, str, float, float, float | None]] = field(default_factory=list)

    @property
    def n_passed(self) -> int:
        return sum(self.passed.values())

    @property
    def n_total(self) -> int:
        return sum(self.total.values())

    def lines(self) -> list[str]:
        name = self.dataset if self.dataset.startswith("IBSI") else f"IBSI {self.dataset}"
        out = [f"{name}: {self.n_passed}/{self.n_total} reference features pass"]
        for fam in self.total:
            out.append(f"  {fam:<50} {self.passed[fam]:>3}/{self.total[fam]}")
        for fam, tag, ref, tol, got in self.failures:
            out.append(f"  FAIL {tag} ({fam}): reference {ref} +- {tol}, got {got}")
        return out


def tolerance(value: float, tol: float) -> float:
    if tol > 0:
        return tol
    if value == 0:
        return 5e-4
    return 0.5 * 10 ** (math.floor(math.log10(abs(value))) - 2)


def read_reference(path: Path, dataset: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["dataset"] == dataset and r["value"] != ""]


def compare(values: dict[str, float], rows: list[dict[str, str]], dataset: str) -> Comparison:
    """Pass counts per family of ``values`` (IBSI tags) against the reference ``rows``."""
    res = Comparison(dataset)
    for r in rows:
        ref = float(r["value"])
        tol = tolerance(ref, float(r["tolerance"] or 0))
        got = values.get(r["tag"])
        ok = got is not None and math.isfinite(got) and abs(got - ref) <= tol * (1 + 1e-9)
        res.total[r["family"]] += 1
        res.passed[r["family"]] += int(ok)
        if not ok:
            res.failures.append((r["family"], r["tag"], ref, tol, got))
    return res
