"""``nbrisk study export|import|analyze``: blinded reader studies from export to the kept-features list."""

from __future__ import annotations

import argparse
from pathlib import Path

COMMAND = "study"
HELP = "reader study: blinded export, import of reader segmentations, Dice/HD95 + ICC analysis"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from nbrisk.reproducibility.icc import DEFAULT_FORM
    from nbrisk.reproducibility.perturb import DEFAULT_PERTURBATIONS

    sub = p.add_subparsers(dest="study_action", metavar="ACTION", required=True)
    e = sub.add_parser("export", help="write one blinded package per reader (and pass) into a new folder")
    e.add_argument(
        "--manifest", type=Path, required=True, help="CSV with case_id,image (paths relative to it)"
    )
    e.add_argument("--readers", required=True, help="comma-separated reader names, e.g. R1,R2")
    e.add_argument("--repeats", type=int, default=1, help="passes per reader (2 = intra-observer repeat)")
    e.add_argument("--out", type=Path, required=True, help="new study folder (never overwritten)")
    e.add_argument(
        "--seed",
        type=int,
        default=None,
        help="reproducible codes and orders (testing only; real studies leave it unset)",
    )

    i = sub.add_parser("import", help="import one reader's returned segmentations")
    i.add_argument("--study", type=Path, required=True, help="study folder written by 'study export'")
    i.add_argument("--reader", required=True, help="reader name as exported")
    i.add_argument("--from", dest="from_dir", type=Path, required=True, help="folder the reader returned")
    i.add_argument(
        "--segment", help="segment name in .seg.nrrd / DICOM SEG (default: the only one, or 'tumour')"
    )
    i.add_argument("--label", type=int, help="label value in label-map files (default: the only one)")

    a = sub.add_parser(
        "analyze", help="Dice/HD95 per case, features per reader, ICC, kept list, HTML summary"
    )
    a.add_argument("--study", type=Path, required=True, help="study folder with imported segmentations")
    a.add_argument("--preset", required=True, help="feature preset name or YAML path")
    a.add_argument("--out", type=Path, required=True, help="new results folder")
    a.add_argument(
        "--threshold", type=float, default=0.75, help="keep features with ICC >= this (default 0.75)"
    )
    a.add_argument(
        "--form", default=DEFAULT_FORM, help=f"ICC form for the kept list (default {DEFAULT_FORM})"
    )
    a.add_argument("--bland-altman", dest="bland_altman", help="feature for the Bland-Altman plot")
    a.add_argument(
        "--perturb",
        default=";".join(DEFAULT_PERTURBATIONS),
        help="one-reader pseudo-readers, ';'-separated (default: %(default)s)",
    )
    a.add_argument("-j", "--jobs", type=int, default=1, help="worker processes for extraction")
    a.add_argument("--model-masks", type=Path, default=None,
                   help="CSV case_id,mask of a model's segmentations (e.g. nbrisk autoseg --manifest's "
                        "manifest.csv): adds 'Model vs readers' to the report")
    a.add_argument("--consensus", choices=("staple", "majority"), default="staple",
                   help="readers' consensus for model vs consensus (default STAPLE)")

    q = sub.add_parser(
        "perturb",
        help="one reader without a study: write ROI-perturbation pseudo-readers and their manifest "
        "(then: nbrisk extract --manifest OUT/manifest.csv ...; nbrisk icc --features ...)",
    )
    q.add_argument("--manifest", type=Path, required=True, help="CSV with case_id,image,mask")
    q.add_argument("--out", type=Path, required=True, help="new folder for the masks and manifest.csv")
    q.add_argument(
        "--perturb", default=";".join(DEFAULT_PERTURBATIONS), help="';'-separated (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    return {"export": _export, "import": _import, "analyze": _analyze, "perturb": _perturb}[
        args.study_action
    ](args)


def _perturb(args: argparse.Namespace) -> int:
    import pandas as pd

    from nbrisk.cli._progress import Lines
    from nbrisk.reproducibility.perturb import perturb_manifest

    lines = Lines("study perturb", quiet=args.quiet)
    try:
        out = perturb_manifest(args.manifest, args.out, [p for p in args.perturb.split(";") if p],
                               progress=lambda i, n, case: lines(f"[{i}/{n}] {case}"))
    finally:
        lines.done()
    n_cases = pd.read_csv(args.manifest, dtype=str).shape[0]
    print(f"wrote {len(pd.read_csv(out))} pseudo-reader masks for {n_cases} cases -> {out}")
    print(
        f"next: nbrisk extract --manifest {out} --preset NAME --out features.csv; "
        "nbrisk icc --features features.csv --out icc.csv --keep kept.txt"
    )
    return 0


def _fraction_progress(verb: str, quiet: bool):
    """Print a library's ``progress(fraction, what)`` calls on stderr, one line per new message."""
    from nbrisk.cli._progress import Lines

    lines = Lines(verb, quiet=quiet)
    last = [""]

    def progress(fraction: float, what: str) -> None:
        if what != last[0]:
            last[0] = what
            lines(f"[{100 * fraction:3.0f}%] {what}")

    return progress


def _export(args: argparse.Namespace) -> int:
    from nbrisk.reproducibility.study import export_study

    res = export_study(args.manifest, args.out, args.readers.split(","), repeats=args.repeats, seed=args.seed,
                       progress=_fraction_progress("study export", args.quiet))
    print(
        f"exported {res.n_cases} cases for readers {', '.join(res.readers)} ({res.repeats} pass(es) each) "
        f"-> {res.study_dir}"
    )
    for r in res.readers:
        for p in range(1, res.repeats + 1):
            print(f"  send to {r}: {res.study_dir / 'readers' / r / f'pass{p}'}")
    print(f"  key (keep private, never send): {res.key_csv}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from nbrisk.reproducibility.study_import import import_reader

    rep = import_reader(args.study, args.reader, args.from_dir, segment=args.segment, label=args.label)
    total = len(rep.imported) + len(rep.kept_earlier) + len(rep.missing) + len(rep.failed)
    print(
        f"reader {rep.reader}: imported {len(rep.imported)} of {total} segmentations "
        f"(files archived in {rep.archive})"
    )
    if rep.kept_earlier:
        print(f"  kept from an earlier import: {len(rep.kept_earlier)}")
    for code in rep.missing:
        print(f"  missing: {code} (no segmentation returned)")
    for f, why in rep.mismatched.items():
        print(f"  mismatched: {f}: {why}")
    for f, why in rep.extra.items():
        print(f"  extra: {f}: {why}")
    return 0 if rep.ok else 1


def _analyze(args: argparse.Namespace) -> int:
    from nbrisk.reproducibility.study_analysis import analyze_study

    res = analyze_study(
        args.study,
        args.preset,
        args.out,
        threshold=args.threshold,
        form=args.form,
        jobs=args.jobs,
        bland_altman_feature=args.bland_altman,
        perturbations=[p for p in args.perturb.split(";") if p],
        progress=_fraction_progress("study analyze", args.quiet),
        model_masks=_model_masks(args.model_masks),
        consensus=args.consensus,
    )
    for name, icc in res.icc.items():
        n_feat = icc.table["feature"].nunique()
        print(f"{name}: {n_feat} features, {icc.n_cases} cases, raters {', '.join(icc.readers)}")
    if not res.agreement.empty:
        for kind, g in res.agreement.groupby("kind"):
            print(
                f"{kind}-observer Dice: mean {g['dice'].mean():.3f}, "
                f"median HD95 {g['hd95_mm'].median():.2f} mm ({len(g)} case pairs)"
            )
    print(f"kept {len(res.kept)} features ({args.form} >= {args.threshold:g}) -> {res.out_dir / 'kept.txt'}")
    verdict = res.out_dir / "model_vs_readers" / "model_vs_readers_verdict.json"
    if verdict.is_file():
        import json

        print(json.loads(verdict.read_text(encoding="utf-8"))["text"])
    print(f"summary: {res.out_dir / 'summary.html'}")
    return 0


def _model_masks(path: Path | None) -> dict[str, Path] | None:
    if path is None:
        return None
    from nbrisk.reproducibility.model_vs_readers import read_mask_manifest

    return {r["case_id"]: Path(r["mask"]) for r in read_mask_manifest(path, need_reader=False)}
