"""The packaged IDRF / INRG reference tables (``nbrisk/staging/data/*.json``, each with its sources) and the
checklist vocabulary derived from them: the 20 IDRF items, the recorded-not-IDRF findings and the
extra findings seed 001's surgical-risk label needs.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

# Findings that are neither IDRFs nor in the INRG "recorded" list, but that seed 001's surgical-risk label
# needs (see nbrisk.staging.inrg.surgical_risk_seed001). Kept separate so they never count as IDRFs.
FORMAT = "nbrisk-idrf-checklist"  # the checklist file's format name and version (JSON and CSV)
FORMAT_VERSION = 1

OTHER_FINDINGS = {
    "midline_crossing": "Tumour crosses the midline (vertebral-body centre line); not an IDRF nor an INRGSS "
    "criterion (INSS concept; seed 001 criterion 2)",
    "intraspinal_extension_any": "Any tumour extension into the spinal canal, also below the IDRF criteria "
    "(seed 001 criterion 3)",
    "lymph_node_metastasis": "Associated lymph-node metastasis (retroperitoneal, mesenteric, inguinal, "
    "peri-iliac); not an IDRF (seed 001 criterion 4)",
}


def data_path(name: str) -> Path:
    """Return the path of a packaged reference table (``nbrisk/staging/data/<name>``)."""
    return Path(str(resources.files("nbrisk.staging") / "data" / name))


@lru_cache(maxsize=8)
def load_table(name: str) -> dict[str, Any]:
    """Load a packaged JSON reference table (idrf.json, inrgss.json, ...)."""
    with open(data_path(name), encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def definitions_sha256() -> str:
    """SHA-256 of the packaged idrf.json, stored in every checklist."""
    return hashlib.sha256(data_path("idrf.json").read_bytes()).hexdigest()


def idrf_items() -> list[dict[str, Any]]:
    """The 20 IDRF definitions in table order (id, region, label, definition, structures, sources)."""
    return list(load_table("idrf.json")["items"])


def finding_items() -> list[dict[str, Any]]:
    """Findings recorded beside the IDRFs: INRG's recorded-not-IDRF list, then the seed-001 extras."""
    rec = [{**f, "kind": "recorded_not_idrf"} for f in load_table("idrf.json")["recorded_not_idrf"]]
    other = [{"id": k, "label": v, "kind": "other_finding"} for k, v in OTHER_FINDINGS.items()]
    return rec + other


def region_labels() -> dict[str, str]:
    return {r["id"]: r["label"] for r in load_table("idrf.json")["regions"]}


def all_item_ids() -> list[str]:
    return [i["id"] for i in idrf_items()] + [f["id"] for f in finding_items()]
