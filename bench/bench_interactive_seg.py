"""Benchmark: interactive tumour segmentation with a simulated reader, on real tumours with expert masks.

Run from the repository root (progress on stderr, one JSON line per case and protocol on --out):

    PYTHONPATH=NBRiskModule python3 bench/bench_interactive_seg.py --sets pyrad sts_ct --split report \
        --methods baseline today new --out /tmp/inter.jsonl
    PYTHONPATH=NBRiskModule python3 bench/bench_interactive_seg.py --summarise /tmp/inter.jsonl

The simulated reader (the protocol of interactive-segmentation papers): click 1 is a tumour seed at the
deepest
point of the expert mask (maximum of its distance transform, in mm). Each next click goes to the deepest point
of the largest error region: a tumour seed in a missed region, a background seed in a false-positive one; the
method re-runs with all clicks so far. Protocol ``clicks`` gives only clicks; protocol ``box`` adds the expert
mask's bounding box (grown by ``--box-margin`` mm) with click 1. Recorded per click: Dice and seconds.
Summaries: median Dice after 1, 3 and 5 clicks, mean NoC@85/90 (clicks to reach Dice 0.85/0.90; the cap when
never reached) and how many cases never reach it, median seconds per interaction.

Jittered readers (``--readers N``, issue 23's eleventh round): reader 0 is the reader above; readers 1 to N-1 put
each click (the first too) on a voxel drawn at random within ``--jitter-mm`` (2 mm) of that deepest point, inside the
same region, seeded by the reader and the case. One reader's path through ten clicks is chaotic: a change that moves
one click moves every later one, and on 8 tune CTs the eleventh round saw a gain on every case after the fact
vanish in the loop. A second table gives, per method, the median over cases of each case's mean Dice over the
readers, and the spread of the set's median from reader to reader: the noise a tune decision has to beat.

Data sets (images are read from caches, nothing is downloaded here):

* ``pyrad``: pyradiomics' sample cases (brain1/2 MRI, breast1 MRI, lung1/2 CT) from
  ``Testing/conftest.py``'s cache (``~/.cache/nbrisk/pyradiomics_bhklab-3.1.4/data``).
* ``sts_ct`` / ``sts_mr``: IBSI's soft-tissue-sarcoma validation set (CT and N4-corrected T1 MRI with the
  GTV_Mass contour, cropped 5 cm around it; CC BY 3.0), the NIfTI files of github.com/theibsi/data_sets
  ``ibsi_validation/nifti/STS_xxx/{CT,MR_T1}_{image,mask}.nii.gz`` copied to ``~/.cache/nbrisk/ibsi_sts`` as
  ``STS_xxx_CT_image.nii.gz`` etc.
* ``phantom``: NBRisk's synthetic CT and MR phantoms (regression check).
* ``brats_flair`` / ``brats_t1c`` / ``nsclc_ct`` (twelfth round): BraTS 2015 gliomas (whole tumour on FLAIR, tumour
  core on contrast-enhanced T1) and NSCLC-Radiomics lung CTs (GTV-1), masks traced on the very image; prepared by
  ``bench/public_tumours.py`` from two public GitHub repositories (see there), report cases only.
* ``remind_t1c`` (sixteenth round): one small glioma (0.8 ml) on a ReMIND patient's contrast-enhanced 3-D T1, its
  DICOM SEG drawn on that series; from a third public repository by ``bench/public_tumours.py``; a tune case (below).

Split: ``tune`` = STS_001-STS_010, lung1, brain1, phantoms and (since the sixteenth round) remind01; ``report`` =
everything else. remind01 was first run as a report case; the sixteenth round's rule was chosen on it, so it is a tune
case from then on.

Methods: ``baseline`` (threshold around the seeds' intensity inside the box, connected to the seeds),
``ellipsoid`` (shape only: the ellipsoid inscribed in the box, whatever the clicks), ``today``
(:func:`nbrisk.segmentation.grow.grow_from_seeds`, the method before issue 23), ``round1`` to ``round10a``,
``round12``, ``round13`` and ``round15`` (issue 23's earlier rounds, pinned by their ``InteractiveParams``) and ``new``
(:func:`nbrisk.segmentation.interactive.segment_interactive` with its defaults), and ``nninteractive`` (the learned
model nnInteractive, where ``pip install nninteractive`` and its weights are at hand: ``NBRISK_NNINTERACTIVE_MODEL``
names the model folder; a GPU for its speed); they live in ``bench/interactive_methods.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from interactive_methods import METHODS, New  # beside this file: the methods ``--methods`` names
from scipy import ndimage

CACHE = Path.home() / ".cache" / "nbrisk"
TUNE_STS = {f"STS_{i:03d}" for i in range(1, 11)}
TUNE_PYRAD = {"lung1", "brain1"}
TUNE_PUBLIC = {"remind01"}  # a public case a rule was chosen on (sixteenth round)
# bench/public_tumours.py writes them; report cases but those in TUNE_PUBLIC
PUBLIC = ("brats_flair", "brats_t1c", "nsclc_ct", "remind_t1c")


# ------------------------------------------------------------------------------------------------- data
def load_cases(sets: list[str], split: str) -> list[tuple[str, str, sitk.Image, sitk.Image]]:
    """Return (set, case id, image, mask) for the chosen sets and split ("tune", "report" or "all")."""
    out = []
    for s in sets:
        if s == "pyrad":
            data = CACHE / "pyradiomics_bhklab-3.1.4" / "data"
            for c in ("brain1", "brain2", "breast1", "lung1", "lung2"):
                if _in_split(is_tune(s, c), split):
                    img = sitk.ReadImage(str(data / f"{c}_image.nrrd"), sitk.sitkFloat32)
                    out.append((s, c, img, _mask(sitk.ReadImage(str(data / f"{c}_label.nrrd")), img)))
        elif s in ("sts_ct", "sts_mr"):
            tag = "CT" if s == "sts_ct" else "MR_T1"
            for f in sorted((CACHE / "ibsi_sts").glob(f"STS_*_{tag}_image.nii.gz")):
                c = f.name[:7]
                if _in_split(is_tune(s, c), split):
                    img = sitk.ReadImage(str(f), sitk.sitkFloat32)
                    m = f.with_name(f.name.replace("_image", "_mask"))
                    out.append((s, c, img, _mask(sitk.ReadImage(str(m)), img)))
        elif s == "phantom":
            if _in_split(is_tune(s, ""), split):
                from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

                for mod, seeds in (("ct", (1, 2, 3, 4)), ("mr", (3, 5))):
                    for k in seeds:
                        ph = make_phantom(PhantomSpec(modality=mod), seed=k)
                        out.append(
                            (
                                s,
                                f"{mod}{k}",
                                sitk.Cast(ph.image, sitk.sitkFloat32),
                                _mask(ph.tumour, ph.image),
                            )
                        )
        elif s in PUBLIC:
            files = sorted((CACHE / "public_tumours" / s).glob("*_image.nii.gz"))
            if not files:
                raise SystemExit(f"no {s} cases in {CACHE / 'public_tumours' / s}; run bench/public_tumours.py first")
            for f in files:
                if _in_split(is_tune(s, f.name.removesuffix("_image.nii.gz")), split):
                    img = sitk.ReadImage(str(f), sitk.sitkFloat32)
                    m = f.with_name(f.name.replace("_image", "_mask"))
                    out.append((s, f.name.removesuffix("_image.nii.gz"), img, _mask(sitk.ReadImage(str(m)), img)))
        else:
            raise SystemExit(f"unknown set {s!r}; use pyrad, sts_ct, sts_mr, phantom or {', '.join(PUBLIC)}")
    return out


def is_tune(s: str, case: str) -> bool:
    """Whether a case of set ``s`` is a tune case: the split the methods were chosen on."""
    return s == "phantom" or case in TUNE_STS or case in TUNE_PYRAD or case in TUNE_PUBLIC


def _in_split(tune: bool, split: str) -> bool:
    return split == "all" or (split == "tune") == tune


def _mask(m: sitk.Image, img: sitk.Image) -> sitk.Image:
    m = sitk.Cast(m > 0, sitk.sitkUInt8)
    m.CopyInformation(img)
    return m


def pad_to(img: sitk.Image, truth: sitk.Image, size: list[int]) -> tuple[sitk.Image, sitk.Image]:
    """Centre image and mask in a larger grid (image padded with its edge values): a full-size CT's cost."""
    extra = [max(int(n) - int(m), 0) for n, m in zip(size, img.GetSize(), strict=True)]
    lo = [e // 2 for e in extra]
    hi = [e - a for e, a in zip(extra, lo, strict=True)]
    return (sitk.ZeroFluxNeumannPad(img, lo, hi), sitk.ConstantPad(truth, lo, hi, 0))


# ------------------------------------------------------------------------------------------ the reader
def deepest(mask: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, float]:
    """(z, y, x) index of the voxel farthest inside ``mask`` (ties: first), and its depth in mm."""
    nz = np.nonzero(mask)
    lo = np.array([i.min() for i in nz])
    hi = np.array([i.max() for i in nz]) + 1
    sub = np.pad(mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], 1)
    d = ndimage.distance_transform_edt(sub, sampling=spacing)
    k = np.unravel_index(int(np.argmax(d)), d.shape)
    return np.array(k) - 1 + lo, float(d[k])


def jittered(idx: np.ndarray, region: np.ndarray, spacing: np.ndarray, rng: np.random.Generator | None,
             mm: float) -> np.ndarray:
    """A voxel of ``region`` within ``mm`` of ``idx`` drawn with ``rng`` (``idx`` itself without one): a reader
    aims at the deepest point and lands near it."""
    if rng is None or mm <= 0:
        return idx
    r = np.ceil(mm / spacing).astype(int)
    lo = np.maximum(idx - r, 0)
    hi = np.minimum(idx + r + 1, region.shape)
    pts = np.argwhere(region[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]) + lo
    near = pts[(((pts - idx) * spacing) ** 2).sum(axis=1) <= mm * mm]
    return near[int(rng.integers(len(near)))] if len(near) else idx


def next_click(
    truth: np.ndarray, pred: np.ndarray, spacing: np.ndarray, rng: np.random.Generator | None = None,
    jitter_mm: float = 0.0,
) -> tuple[np.ndarray, bool] | None:
    """Deepest point of the largest error region (jittered with ``rng``); (index, is_tumour) or None without
    errors."""
    best = None
    for err, is_t in ((truth & ~pred, True), (pred & ~truth, False)):
        if not err.any():
            continue
        lab, _ = ndimage.label(err)
        sizes = np.bincount(lab.ravel())[1:]
        k = int(np.argmax(sizes)) + 1
        if best is None or sizes[k - 1] > best[0]:
            best = (int(sizes[k - 1]), lab == k, is_t)
    if best is None:
        return None
    idx, _ = deepest(best[1], spacing)
    return jittered(idx, best[1], spacing, rng, jitter_mm), best[2]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = int(a.sum()) + int(b.sum())
    return 2.0 * int((a & b).sum()) / s if s else 1.0


def to_lps(img: sitk.Image, zyx: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in img.TransformIndexToPhysicalPoint([int(v) for v in zyx[::-1]]))


def bbox_lps(img: sitk.Image, truth: np.ndarray, margin_mm: float) -> tuple[float, ...]:
    sp = np.array(img.GetSpacing())[::-1]
    nz = np.nonzero(truth)
    m = np.ceil(margin_mm / sp - 1e-9).astype(int)
    lo = np.maximum(np.array([i.min() for i in nz]) - m, 0)
    hi = np.minimum(np.array([i.max() for i in nz]) + m, np.array(truth.shape) - 1)
    return to_lps(img, lo) + to_lps(img, hi)


def run_case(
    img: sitk.Image,
    truth_img: sitk.Image,
    method: str,
    protocol: str,
    cap: int,
    box_margin: float,
    params=None,
    reader: int = 0,
    jitter_mm: float = 2.0,
) -> dict:
    """The simulated reader on one case; ``reader`` > 0: a jittered reader (clicks within ``jitter_mm`` of the
    deepest points, seeded by the reader and the case)."""
    from nbrisk.errors import InputError

    truth = sitk.GetArrayFromImage(truth_img) > 0
    sp = np.array(img.GetSpacing())[::-1]
    seg = METHODS[method](img) if method != "new" or params is None else New(img, params)
    rng = np.random.default_rng((reader, int(truth.sum()))) if reader > 0 else None
    c0 = jittered(deepest(truth, sp)[0], truth, sp, rng, jitter_mm)
    tumour, background = [to_lps(img, c0)], []
    box = bbox_lps(img, truth, box_margin) if protocol == "box" else None
    pred = np.zeros_like(truth)
    dices, secs = [], []
    for k in range(1, cap + 1):
        t0 = time.perf_counter()
        with contextlib.suppress(InputError):  # a refused click: the reader sees the previous result
            pred = seg(tumour, background, box)
        secs.append(time.perf_counter() - t0)
        dices.append(dice(truth, pred))
        if k >= 5 and dices[-1] >= 0.90:
            break
        nxt = next_click(truth, pred, sp, rng, jitter_mm)
        if nxt is None:
            break
        (tumour if nxt[1] else background).append(to_lps(img, nxt[0]))
    return {"dice": dices, "seconds": secs}


# ------------------------------------------------------------------------------------------- summary
def noc(d: list[float], thr: float, cap: int) -> int:
    return next((k + 1 for k, v in enumerate(d) if v >= thr), cap)


def at(d: list[float], k: int) -> float:
    return d[min(k, len(d)) - 1]  # a run stopped early keeps its last Dice


def median_ci(values: list[float], level: float = 0.95, n_boot: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the median over cases (cases resampled with replacement; seeded, so a table
    is reproducible). With 28 cases a median of 0.843 comes with an interval of about +- 0.02: the noise of which
    cases happen to be in the report split, beside the reader's path (``--readers``)."""
    v = np.asarray(values, float)
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), float(v[0])
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, len(v), size=(n_boot, len(v)))], axis=1)
    a = (1.0 - level) / 2.0
    return float(np.quantile(meds, a)), float(np.quantile(meds, 1.0 - a))


def compare(rows: list[dict], a: str, b: str, k: int = 5) -> str:
    """Method ``a`` against method ``b`` after ``k`` clicks, on the cases (and readers) both ran: per set, split and
    prompt, the medians, the median over cases of the paired differences with its bootstrap interval, and how many
    cases are better or worse by over 0.005. With several readers a case's difference is its mean over the readers
    (the readers of one case are not independent cases). A difference whose interval holds 0 is not one that run
    can show."""
    runs: dict[tuple, dict[str, dict[tuple, float]]] = {}
    for r in rows:
        if r["method"] in (a, b):
            key = (r["set"], r["split"], r["protocol"])
            runs.setdefault(key, {}).setdefault(r["method"], {})[(r["case"], r.get("reader", 0))] = at(r["dice"], k)
    lines = [
        f"| set | split | prompt | n | {a} @{k} | {b} @{k} | median difference (95% CI) | better / worse |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(runs):
        ra, rb = runs[key].get(a, {}), runs[key].get(b, {})
        both = sorted(set(ra) & set(rb))
        if not both:
            continue
        cases: dict[str, list[tuple[float, float]]] = {}
        for c in both:
            cases.setdefault(c[0], []).append((ra[c], rb[c]))
        ma = [statistics.mean(x for x, _ in v) for v in cases.values()]
        mb = [statistics.mean(y for _, y in v) for v in cases.values()]
        d = [x - y for x, y in zip(ma, mb, strict=True)]
        lo, hi = median_ci(d)
        lines.append(
            f"| {key[0]} | {key[1]} | {'box + clicks' if key[2] == 'box' else 'clicks'} | {len(cases)} | "
            f"{statistics.median(ma):.3f} | {statistics.median(mb):.3f} | "
            f"{statistics.median(d):+.3f} ({lo:+.3f} to {hi:+.3f}) | "
            f"{sum(x > 0.005 for x in d)} / {sum(x < -0.005 for x in d)} |"
        )
    return "\n".join(lines)


def summarise(rows: list[dict], cap: int) -> str:
    """The table of reader 0 (the deepest-point reader), and with jittered readers in ``rows`` their table too."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if r.get("reader", 0) == 0:
            groups.setdefault((r["set"], r["split"], r["protocol"], r["method"]), []).append(r)
    lines = [
        "| set | split | prompt | method | n | Dice@1 | Dice@3 | Dice@5 | Dice@5 95% CI | NoC@85 | NoC@90 "
        "| >cap@90 | s/click |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {"baseline": 0, "ellipsoid": 1, "today": 2, "round1": 3, "round2": 4, "round3": 5, "round4": 6,
             "round5": 7, "round6": 8, "round7": 9, "round8": 10, "round8f": 11, "round9": 12,
             "round10a": 13, "round12": 14, "round13": 15, "new": 16}
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], order.get(k[3], 16))):
        g = groups[key]
        med = lambda k, g=g: statistics.median(at(r["dice"], k) for r in g)  # noqa: E731
        n85 = statistics.mean(noc(r["dice"], 0.85, cap) for r in g)
        n90 = statistics.mean(noc(r["dice"], 0.90, cap) for r in g)
        fail = sum(noc(r["dice"], 0.90, cap + 1) > cap for r in g)
        s = statistics.median(x for r in g for x in r["seconds"])
        lo, hi = median_ci([at(r["dice"], 5) for r in g])
        lines.append(
            f"| {key[0]} | {key[1]} | {'box + clicks' if key[2] == 'box' else 'clicks'} | {key[3]} | "
            f"{len(g)} | {med(1):.3f} | {med(3):.3f} | {med(5):.3f} | {lo:.3f}-{hi:.3f} | {n85:.1f} | {n90:.1f} | "
            f"{fail} | {s:.2f} |"
        )
    if any(r.get("reader", 0) > 0 for r in rows):
        lines += ["", summarise_readers(rows)]
    return "\n".join(lines)


def summarise_readers(rows: list[dict]) -> str:
    """Per set, split, prompt and method over the readers in ``rows``: the median over cases of each case's mean Dice
    after 1, 3 and 5 clicks, and the spread (min-max) of the set's median Dice@5 from reader to reader."""
    groups: dict[tuple, dict[str, dict[int, list[float]]]] = {}
    for r in rows:
        key = (r["set"], r["split"], r["protocol"], r["method"])
        groups.setdefault(key, {}).setdefault(r["case"], {})[r.get("reader", 0)] = r["dice"]
    lines = [
        "| set | split | prompt | method | n | readers | mean Dice@1 | @3 | @5 | median@5 per reader (min-max) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in sorted(groups):
        g = groups[key]
        readers = sorted({k for case in g.values() for k in case})
        full = [case for case in g.values() if set(case) == set(readers)]  # cases every reader ran
        med = lambda k, full=full: statistics.median(statistics.mean(at(d, k) for d in c.values()) for c in full)  # noqa: E731
        per = [statistics.median(at(c[k], 5) for c in full) for k in readers]
        lines.append(
            f"| {key[0]} | {key[1]} | {'box + clicks' if key[2] == 'box' else 'clicks'} | {key[3]} | {len(full)} | "
            f"{len(readers)} | {med(1):.3f} | {med(3):.3f} | {med(5):.3f} | {min(per):.3f}-{max(per):.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["pyrad", "sts_ct"])
    ap.add_argument("--split", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--methods", nargs="+", default=["baseline", "today", "new"])
    ap.add_argument("--protocols", nargs="+", default=["clicks", "box"])
    ap.add_argument("--cases", nargs="*", default=None, help="only these case ids")
    ap.add_argument("--cap", type=int, default=20, help="most clicks per case (NoC when never reached)")
    ap.add_argument("--box-margin", type=float, default=3.0, help="mm added around the expert mask's box")
    ap.add_argument("--readers", type=int, default=1, help="readers per case: 0 is the deepest-point reader, the "
                    "others jittered (see the module's docstring)")
    ap.add_argument("--jitter-mm", type=float, default=2.0, help="how far a jittered reader's click lands from the "
                    "deepest point")
    ap.add_argument(
        "--pad-to",
        type=int,
        nargs=3,
        default=None,
        metavar=("X", "Y", "Z"),
        help="pad every image (edge values) and mask to this size first, e.g. 512 512 200 for timing",
    )
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per run here")
    ap.add_argument("--summarise", type=Path, default=None, help="only print the table of a --out file")
    ap.add_argument("--compare", nargs=2, default=None, metavar=("A", "B"), help="with --summarise: method A against "
                    "method B, paired by case and reader, after 5 clicks")
    args = ap.parse_args(argv)
    if args.summarise:
        rows = [json.loads(x) for x in args.summarise.read_text().splitlines() if x.strip()]
        print(summarise(rows, args.cap))
        if args.compare:
            print("\n" + compare(rows, *args.compare))
        return 0
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(2)
    rows = []
    cases = load_cases(args.sets, args.split)
    if args.cases:
        cases = [c for c in cases if c[1] in args.cases]
    if args.pad_to:
        cases = [(s, c, *pad_to(img, truth, args.pad_to)) for s, c, img, truth in cases]
    for i, (s, c, img, truth) in enumerate(cases):
        split = "tune" if is_tune(s, c) else "report"
        for protocol in args.protocols:
            for reader, m in ((k, m) for k in range(max(args.readers, 1)) for m in args.methods):
                t0 = time.perf_counter()
                r = run_case(img, truth, m, protocol, args.cap, args.box_margin, reader=reader,
                             jitter_mm=args.jitter_mm)
                row = {"set": s, "case": c, "split": split, "protocol": protocol, "method": m, **r}
                if reader:
                    row["reader"] = reader
                rows.append(row)
                if args.out:
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                print(
                    f"[{i + 1}/{len(cases)}] {s} {c} {protocol:6s} {m:8s}{f' r{reader}' if reader else ''} "
                    f"Dice@1 {r['dice'][0]:.3f} "
                    f"@5 {at(r['dice'], 5):.3f} NoC90 {noc(r['dice'], 0.9, args.cap):2d} "
                    f"({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    print(summarise(rows, args.cap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
