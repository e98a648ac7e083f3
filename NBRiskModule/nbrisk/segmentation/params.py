"""Parameters of the seeded grow (:mod:`nbrisk.segmentation.grow` and its region competition) and of the interactive
segmentation (:mod:`nbrisk.segmentation.interactive` and its corrections)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GrowParams:
    """Tunable parameters of :func:`grow_from_seeds` (all lengths in mm)."""

    seed_radius_mm: float = 5.0  # sphere around each seed that teaches the models
    far_mm: float = 30.0  # background is learned beyond this distance from every tumour seed
    max_extent_mm: float = 60.0  # without a box: work within this margin around the seeds
    smoothing_mm: float = 1.0  # Gaussian sigma of the intensity feature
    texture_mm: float = 1.0  # Gaussian window sigma of the local standard deviation
    decision_smoothing_mm: float = 1.5  # Gaussian sigma applied to the log-likelihood ratio
    opening_mm: float = 4.0  # ball radius of the opening that cuts leaks
    reconstruct_mm: float = 3.0  # how far the opened region may grow back into the candidates
    shell_mm: tuple[float, float] = (2.0, 6.0)  # pass-2 local background shell around the region
    core_erosion_mm: float = 2.0  # pass-2 tumour model comes from the region eroded by this much
    mask_smoothing_mm: float = 0.5  # Gaussian sigma of the final mask smoothing (0: none)
    tumour_kernel_bins: float = 1.0  # Gaussian smoothing of the tumour histogram (tolerance)
    snap_mm: float = 5.0  # high-contrast edges: move the border up to this far to the mid-intensity level
    passes: int = 2
    # background far field only where its intensity is in the tumour histogram's window (the leak guard's
    # second try; see nbrisk.segmentation.region_competition.segment_array)
    far_in_window: bool = False
    leak_guard: bool = True  # step 8: re-segment with far_in_window when the mask reaches the working region's side
    bins: int = 48

    @classmethod
    def for_seed_radius(cls, seed_radius_mm: float) -> GrowParams:
        """Parameters for a given seed sphere; under 5 mm (small lesions) the spatial scales shrink with it."""
        d = cls()
        f = min(seed_radius_mm / d.seed_radius_mm, 1.0)
        return cls(seed_radius_mm=seed_radius_mm, opening_mm=d.opening_mm * f,
                   reconstruct_mm=d.reconstruct_mm * f, decision_smoothing_mm=d.decision_smoothing_mm * f)


@dataclass(frozen=True, slots=True)
class InteractiveParams:
    """Tunable parameters of :func:`segment_interactive` (lengths in mm)."""

    smoothing_mm: float = 1.0  # Gaussian sigma of the intensity feature
    texture_mm: float = 1.0  # Gaussian window sigma of the local standard deviation (texture feature)
    texture_bins: int = 16  # 0: intensity-only model
    click_radius_mm: float = 2.0  # a click seeds a ball of this radius (clipped to the box)
    box_margin_mm: float = 10.0  # working block = box + this margin; the margin teaches the background
    extent_mm: float = 50.0  # without a box: working block = clicks +- this
    w_model: float = 1.0  # weight of the intensity-model cost
    w_edge: float = 1.0  # weight of the gradient cost
    step: float = 0.05  # constant cost per mm (keeps paths short in flat regions)
    far_mm: float = 30.0  # without a box the background model is learned beyond this distance from the clicks
    bins: int = 48
    max_voxels: int = 700_000  # larger blocks are resampled coarser in-plane
    box_prior: bool = True  # learn the tumour model from the box content too
    first_click: str = "graph_cut"  # one click (+ box): graph_cut.first_region; "competition": the region
    # competition's mask (before issue 23's second round); "geodesic": the geodesic competition
    mr_size: str = "rays"  # one click on MRI without a box: the graph cut's ellipsoid from rays cast from the click
    # (graph_cut.ray_ellipsoid); "rc": from the region competition's mask, as on CT (issue 23's third round)
    seed_radius_max_mm: float = 8.0  # the first click's region competition learns its tumour model in a sphere of up
    # to this radius while the sphere stays clean (graph_cut.clean_seed_radius; since the thirteenth round; 5: 5 mm)
    seed_box_share: float = 0.5  # ... and with a box at most this share of the box's inscribed ellipsoid's smallest
    # radius, never under 5 mm (GraphCutParams.seed_box_share; sixteenth round; 0: no bound)
    prior_core_mm: float = 2.0  # later clicks: that region eroded by this much seeds and teaches the tumour
    edit_radius_mm: float = 40.0  # later clicks change the first-click region at most this close to them
    zone_factor: float = 2.5  # ... and at least zone_factor x their distance to its border + zone_add_mm,
    zone_add_mm: float = 3.0  # ... but never less than zone_min_mm
    zone_min_mm: float = 5.0
    stroke_zone_factor: float = 1.5  # painted strokes: a zone of this x the stroke's depth + zone_add_mm (a stroke
    # covers its region itself; issue 23's second round)
    sequential: bool = True  # each correction click acts on the mask shown before it (kept in the state); False:
    # every click corrects the first region, order-free (issue 23's second round)
    correction: str = "and/or"  # "<tumour click>/<background click>", each geodesic | deform | and | or: what a
    # click changes near it: the geodesic result, the pushed border, where both say so, where either does
    deform_amp: float = 2.0  # a click at depth d pushes the border by deform_amp x d at the click ...
    deform_sigma_k: float = 1.0  # ... tapering as a Gaussian of sigma deform_sigma_k x d + deform_sigma_add_mm
    deform_sigma_add_mm: float = 5.0
    deform_max_share: float = 0.2  # a background push that would remove more than this share of the mask: ...
    deform_over: str = "scale_without_box"  # ... "geodesic": not used (the geodesic result alone decides);
    # "scale": lowered until it removes at most that share; "scale_without_box": lowered without a box (a large
    # false region is then a leak to cut back), not used with one (issue 23's fifth round; before: "geodesic")
    deform_size_k: float = 0.5  # a removal is at most deform_size_k x the mask's equivalent radius wide (2x deep)
    # Without a box, the first tumour correction click outside the first click's size ellipsoid says that estimate was
    # too small: the first region is cut again with the ellipsoid grown until the click lies at grow_to of its radius,
    # and the click adds where that region and the geodesic competition agree (issue 23's sixth round; 0: off).
    # Outside means an ellipsoidal radius above grow_outside_rays for the rays' ellipsoid (MRI, which stops short in
    # a heterogeneous tumour) and above grow_outside_moments for the competition's moments (CT, usually right).
    grow_to: float = 0.9
    grow_max_click: int = 4  # only a click up to this number (the first click is 1) may grow it: later, a click
    # outside the ellipsoid is a local miss, after the reader has corrected the region's size (0: any click)
    grow_outside_rays: float = 1.0
    grow_outside_moments: float = 1.5
    # Only before the first background click (grow_before_background): once the reader has said the region is too
    # large, a tumour click outside it is a local miss (added after report cases STS_014 and STS_024, T1 MRI).
    grow_before_background: bool = True
    # A later tumour click (still up to grow_max_click, before any background click) that lies beyond
    # grow_again_outside of the radius of the ellipsoid as the last growth left it says the estimate is still too
    # small there: the ellipsoid is stretched along the click's direction only (its extent across that direction
    # kept) until the click lies at grow_to, and the first region cut again (issue 23's tenth round; 0: the sixth
    # round's single growth per history).
    grow_again_outside: float = 0.9
    # The mirror image (issue 23's seventh round): without a box, a background click before any tumour correction click
    # that lies inside the size ellipsoid and deep in the mask shown (at least shrink_depth x the mask's equivalent
    # radius from its border: a large false region, not a rim) says the estimate was too large.
    # The first region is cut again with the ellipsoid shrunk until the click lies at shrink_to (the competition's
    # moments, CT) or shrink_to_rays (rays, MRI) of its radius; the click removes, besides its local correction,
    # what that cut leaves out, and the mask keeps the part connected to the first click. Once per history (0: off).
    shrink_to: float = 1.1
    shrink_to_rays: float = 1.0
    shrink_depth: float = 0.2
    # A later background click, still before any tumour correction click, deep in the mask shown and inside the
    # ellipsoid as the last shrinking left it, shrinks it again (same shape; issue 23's tenth round; False: once per
    # history, as in the seventh to ninth rounds).
    shrink_again: bool = True
    grow_max_voxels: int = 200_000  # the re-cut's block at most this fine (GraphCutParams.cut_max_voxels): it only
    # bounds what the geodesic result may add (shrinking: what a click removes), and 200 000 took 0.4-0.55 s off the
    # growing click (Dice within 0.002)
    tumour_model_p: float = 0.5  # a tumour click's push adds where the geodesic result agrees **or** the per-case
    # intensity-texture model leans tumour there (P(tumour | intensity, texture) >= this): on iso-dense tissue the
    # geodesic result stops at the nearer background seeds, the model only refuses tissue that looks like background
    # (ninth round; 0: off, the geodesic result alone may refuse the push)
    # Without a box on the rays' size ellipsoid (MRI), from the second correction click on while every correction
    # click has been a background click, the mask after the click's own correction is also eroded as a whole by
    # background_erode x the click's depth in the mask shown (it keeps its part holding the first click): the rays'
    # ellipsoid errs as a whole, and click after click in a false rim says the whole border lies too far out (issue
    # 23's fourteenth round; 0: off)
    background_erode: float = 0.3
    shown_smooth_mm: float = 1.5  # the mask shown is the result smoothed (Gaussian of this sigma, threshold 0.5,
    # kept in the box, the clicks kept on their side); the next click corrects the unsmoothed result, so smoothing
    # does not accumulate over clicks (eighth round; 0: off)

    def __post_init__(self) -> None:
        if not 0.0 <= self.background_erode < 2.0:
            raise ValueError(f"background_erode {self.background_erode}: give a factor in [0, 2) of the click's depth "
                             "(0: off)")
        if not 0.0 <= self.seed_box_share <= 1.0:
            raise ValueError(f"seed_box_share {self.seed_box_share}: give a share in [0, 1] of the box's smallest "
                             "radius (0: no bound)")
        if not 0.0 <= self.tumour_model_p <= 1.0:
            raise ValueError(f"tumour_model_p {self.tumour_model_p}: give a probability in [0, 1] (0: off)")
        if self.grow_again_outside != 0.0 and not self.grow_again_outside >= self.grow_to:
            raise ValueError(f"grow_again_outside {self.grow_again_outside}: give 0 (off) or at least grow_to "
                             f"({self.grow_to}); below it a 'growth' would pull the ellipsoid in")
        parts = self.correction.split("/")
        if len(parts) != 2 or not set(parts) <= {"geodesic", "deform", "and", "or"}:
            raise ValueError(f"correction {self.correction!r}: give '<tumour>/<background>', each geodesic, deform, "
                             "and or or")
        if self.first_click not in ("graph_cut", "competition", "geodesic"):
            raise ValueError(f"first_click {self.first_click!r}: give graph_cut, competition or geodesic")
        if self.deform_over not in ("geodesic", "scale", "scale_without_box"):
            raise ValueError(f"deform_over {self.deform_over!r}: give geodesic, scale or scale_without_box")
        if self.mr_size not in ("rays", "rc"):
            raise ValueError(f"mr_size {self.mr_size!r}: give rays or rc")
