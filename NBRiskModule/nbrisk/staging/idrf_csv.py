"""CSV form of the IDRF checklist: one row per item, plus provenance (meta) and hint rows.

Columns: section (meta / idrf / finding / hint), id, region, label, status, note, evidence_slice,
evidence_point_lps ("x y z" in LPS mm) and data (meta value or the hint as JSON). Spreadsheet-friendly,
and read back losslessly by :func:`read_csv`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from nbrisk.staging.tables import FORMAT, FORMAT_VERSION, finding_items, idrf_items, region_labels

CSV_FIELDS = (
    "section",
    "id",
    "region",
    "label",
    "status",
    "note",
    "evidence_slice",
    "evidence_point_lps",
    "data",
)
_META_KEYS = (
    "format",
    "format_version",
    "case_id",
    "image",
    "segmentation",
    "reader",
    "created",
    "modified",
    "definitions_sha256",
)


def write_csv(cl: Any, path: Path) -> None:
    """Write one row per item (section idrf/finding), plus meta and hint rows (hints as JSON)."""
    regions = region_labels()
    labels = {i["id"]: (regions[i["region"]], i["label"]) for i in idrf_items()}
    labels.update({f["id"]: ("Findings (not IDRF)", f["label"]) for f in finding_items()})
    meta = {
        **{k: getattr(cl, k) for k in _META_KEYS if hasattr(cl, k)},
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
    }
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for k in _META_KEYS:
            w.writerow({"section": "meta", "id": k, "data": meta[k]})
        for section, ids in (("idrf", cl.idrf_ids), ("finding", cl.finding_ids)):
            for i in ids:
                st = cl.items[i]
                ev = st.evidence
                w.writerow(
                    {
                        "section": section,
                        "id": i,
                        "region": labels[i][0],
                        "label": labels[i][1],
                        "status": st.status,
                        "note": st.note,
                        "evidence_slice": "" if not ev or ev.slice is None else ev.slice,
                        "evidence_point_lps": ""
                        if not ev or not ev.point_lps
                        else " ".join(f"{v:.3f}" for v in ev.point_lps),
                    }
                )
        for n, h in enumerate(cl.hints):
            w.writerow({"section": "hint", "id": n, "label": h.text, "data": json.dumps(h.to_dict())})


def read_dict(path: Path) -> dict[str, Any]:
    """Read a checklist written by :func:`write_csv` into the dict form ``Checklist.from_dict`` takes."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    meta = {r["id"]: r.get("data", "") for r in rows if r.get("section") == "meta"}
    d: dict[str, Any] = {
        **meta,
        "format_version": int(meta.get("format_version") or 0),
        "idrf": [],
        "findings": [],
        "hints": [],
    }
    for r in rows:
        sec = r.get("section")
        if sec in ("idrf", "finding"):
            pt = (r.get("evidence_point_lps") or "").split()
            ev = {
                "slice": int(r["evidence_slice"]) if r.get("evidence_slice") else None,
                "point_lps": [float(v) for v in pt] if pt else None,
            }
            d["idrf" if sec == "idrf" else "findings"].append(
                {
                    "id": r["id"],
                    "status": r.get("status") or "unset",
                    "note": r.get("note") or "",
                    "evidence": ev,
                }
            )
        elif sec == "hint":
            d["hints"].append(json.loads(r["data"]))
    d["definitions"] = {"sha256": meta.get("definitions_sha256", "")}
    return d
