"""``nbrisk presets``: list the shipped feature presets with their papers and exact feature counts."""

from __future__ import annotations

import argparse

COMMAND = "presets"
HELP = "list feature presets (paper, exact feature count, which to use with one CT phase) or show one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show", metavar="NAME", help="print one preset's YAML and rationale")


def run(args: argparse.Namespace) -> int:
    from nbrisk.features.presets import available_presets, load_preset

    if args.show:
        preset = load_preset(args.show)
        if preset.source.startswith("preset "):
            from importlib import resources

            print((resources.files("nbrisk.features") / "presets" / f"{preset.name}.yaml").read_text(encoding="utf-8"))
        else:
            with open(preset.source, encoding="utf-8") as fh:
                print(fh.read())
        print(f"# features: {preset.feature_count}   sha256: {preset.sha256}")
        return 0
    print(f"{'preset':<22}{'features':>9}{'paper':>7}  {'phases':<24}title / paper")
    for name in available_presets():
        p = load_preset(name)
        paper = "" if p.paper_feature_count is None else str(p.paper_feature_count)
        phases = ",".join(p.phases) or (f"{p.phase} only" if p.phase else "-")
        print(f"{name:<22}{p.feature_count:>9}{paper:>7}  {phases:<24}{p.title}")
        print(f"{'':<64}{p.citation[:110]}")
    variants = [(load_preset(n).variant_of, n, load_preset(n).phase) for n in available_presets()]
    variants = [v for v in variants if v[0]]
    if variants:
        print("\nOnly one contrast phase (most centres: portal-venous CT)? Use the single-phase variant of the "
              "seed's settings:")
        for base, name, phase in variants:
            print(f"  {base:<20} -> {name} (one {phase} image per case, {load_preset(name).feature_count} features)")
        print("A multi-phase preset needs one image per phase (image_<phase> columns / --image PHASE=PATH).")
    return 0
