"""Parameters of the seeded grow (shared by :mod:`nbrisk.segmentation.grow` and its region competition)."""

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
