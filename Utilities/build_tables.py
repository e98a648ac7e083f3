"""One-off: build NBRisk's IBSI code table and reference-value table from IBSI's published manual/tables.

Inputs in the working directory: ``feat.rst`` (the IBSI-1 manual's feature chapter, theibsi/ibsi-doc
docs/03_Image_features.rst) and ``ref_{digital_phantom,config_A..E}.csv`` (IBSI-1 reference value tables).
Usage: python build_tables.py OUT_REFERENCE_CSV OUT_CODES_CSV
Two codes are not in that manual version's text and are set by hand: ih_qcod (SLWD, from the manual's
section text) and szm_sze (5QRC, IBSI's code for GLSZM small zone emphasis).
"""

import csv
import re
import sys

with open("feat.rst") as fh:
    t = fh.read().splitlines()
anchors = []
AB = {
    "axis-aligned bounding box": "aabb",
    "oriented minimum bounding box": "ombb",
    "approximate enclosing ellipsoid": "aee",
    "minimum volume enclosing ellipsoid": "mvee",
}


def norm(x):
    x = x.strip().lower().replace("\\ :sup:`th`", "th").replace("’", "'").replace("intensity-based ", "")
    for k, v in AB.items():
        x = x.replace(k, v)
    x = re.sub(r"\bintensity\b ?", "", x).strip()
    x = x.replace("(excess) kurtosis", "(excess) kurtosis")
    x = (
        re.sub(r"\bdiscretised\b", "", x)
        .replace("intensity-based", "")
        .replace("intensity histogram ", "")
        .replace("histogram mode", "mode")
    )
    x = re.sub(r"\bintensity\b ?", "", x).strip()
    return re.sub(r"\s+", " ", x)


for i, line in enumerate(t):
    m = re.match(r"^\.\. _feat_(\w+):", line)
    if m:
        code = next(
            re.search(r'right">([A-Z0-9]{4})</p>', t[j]).group(1)
            for j in range(i + 1, i + 12)
            if re.search(r'right">([A-Z0-9]{4})</p>', t[j])
        )
        a = m.group(1)
        fam = (
            "ivh"
            if a.startswith("int_vol_hist")
            else "ih"
            if a.startswith("int_hist")
            else {"ngldm": "ngl", "ngtdm": "ngt"}.get(a.split("_")[0], a.split("_")[0])
        )
        anchors.append((fam, norm(t[i + 2]), code))
pref = {
    "morph": "morph",
    "loc": "loc",
    "stat": "stat",
    "ih": "ih",
    "ivh": "ivh",
    "cm": "cm",
    "rlm": "rlm",
    "szm": "szm",
    "dzm": "dzm",
    "ngt": "ngt",
    "ngl": "ngl",
}
print(sorted(set(a[0] for a in anchors)))
lookup = {(a[0], a[1]): a[2] for a in anchors}
ALIAS = {
    "szm_lgze": "low grey level zone emphasis",
    "szm_hgze": "high grey level zone emphasis",
    "dzm_lgze": "low grey level zone emphasis",
    "dzm_hgze": "high grey level zone emphasis",
    "ih_cov": "histogram coefficient of variation",
    "ih_mad": "histogram mean absolute deviation",
    "ih_medad": "histogram median absolute deviation",
    "ih_qcod": "histogram quartile coefficient of dispersion",
    "ih_rmad": "histogram robust mean absolute deviation",
}
IVH = {
    "ivh_v10": "volume at fraction",
    "ivh_v90": "volume at fraction",
    "ivh_i10": "at volume fraction",
    "ivh_i90": "at volume fraction",
    "ivh_diff_v10_v90": "volume fraction difference between fractions",
    "ivh_diff_i10_i90": "fraction difference between volume fractions",
    "ivh_auc": "area under the ivh curve",
}
rows = []
codes = {}
for name, ds in [
    ("digital_phantom", "digital_phantom"),
    ("config_A", "A"),
    ("config_B", "B"),
    ("config_C", "C"),
    ("config_D", "D"),
    ("config_E", "E"),
]:
    with open(f"ref_{name}.csv", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            tag = r["tag"]
            fam = tag.split("_")[0]
            code = {"ih_qcod": "SLWD", "szm_sze": "5QRC"}.get(re.sub(r"_(2D|2_5D|3D)$", "", tag)) or lookup.get(
                (
                    fam,
                    IVH.get(
                        tag,
                        ALIAS.get(
                            tag[:-3] if tag.endswith(("_2D", "_3D")) else tag.replace("_2_5D", ""), norm(r["feature"])
                        ),
                    ),
                )
            )
            if fam in pref and code is None:
                print("nocode", tag, r["feature"], file=sys.stderr)
            rows.append(
                dict(
                    dataset=ds,
                    family=r["family"],
                    feature=r["feature"],
                    tag=tag,
                    ibsi_code=code or "",
                    value=r["reference value"],
                    tolerance=r["tolerance"],
                    consensus=r["consensus"],
                )
            )
            if code:
                codes[tag] = (code, r["family"], r["feature"])


def stem(tag):
    return re.sub(r"_(2D|2_5D|3D)(_(avg|s_mrg|v_mrg|mrg|comb))?$", "", tag)


bystem = {}
for r in rows:
    if r["ibsi_code"]:
        bystem.setdefault(stem(r["tag"]), r["ibsi_code"])
for r in rows:
    if not r["ibsi_code"] and stem(r["tag"]) in bystem:
        r["ibsi_code"] = bystem[stem(r["tag"])]
        codes[r["tag"]] = (r["ibsi_code"], r["family"], r["feature"])
print("still missing", sorted(set(r["tag"] for r in rows if not r["ibsi_code"])), file=sys.stderr)
with open(sys.argv[1], "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
with open(sys.argv[2], "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["tag", "ibsi_code", "family", "feature"])
    for tag, (c, f, n) in sorted(codes.items()):
        w.writerow([tag, c, f, n])
print(len(rows), len(codes))
