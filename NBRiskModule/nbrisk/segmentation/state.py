"""The interactive segmentation's session state (:class:`SessionState`): what one image's interactions keep between
calls (the working block and its features, the first click's region and size estimate, the mask shown)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["HISTORY_FIELDS", "SessionState"]

# What one history of clicks on one first region keeps: a rebuilt working block keeps these, a new first region resets
# them (until the tenth round a rebuilt block forgot the shrinking's and growth's state)
HISTORY_FIELDS = ("last", "grown", "shrunk", "grow_amat", "shrink_amat")


@dataclass(slots=True)
class SessionState:
    """Cache kept between interactions on one image: the working block and its features."""

    start: np.ndarray  # block start, (z, y, x) voxel index in the image
    stop: np.ndarray  # block stop (exclusive)
    factor: np.ndarray  # resampling factor per axis (z, y, x), >= 1
    smooth: np.ndarray  # smoothed intensity on the (possibly coarser) block
    grad: np.ndarray  # gradient magnitude on it
    texture: np.ndarray  # log(1 + local standard deviation) on it
    spacing: np.ndarray  # spacing of the (coarser) block, mm (z, y, x)
    image_id: tuple  # the image the cache belongs to: id() and grid (see _image_key)
    prior: np.ndarray | None = None  # first-click region (graph cut), full image resolution ...
    prior_start: np.ndarray | None = None  # ... starting at this (z, y, x) index
    prior_key: tuple | None = None  # (first click, box) the prior belongs to
    prior_notes: list[str] = field(default_factory=list)  # warnings raised while growing it (a leak, ...)
    last: tuple | None = None  # (prior key, tumour clicks, background clicks, region, its start): the last mask
    # without a box, the first region's size ellipsoid (centre, A), whether rays gave it, and the region
    # competition's mask (cropped, its start): a correction click may re-cut with it grown or shrunk (size_estimate)
    prior_size: tuple | None = None
    prior_rays: bool = False
    prior_competition: tuple | None = None
    grown: bool = False  # no more growth in this history: a background click came (or, with grow_again_outside 0, a
    # click grew the size ellipsoid)
    grow_amat: np.ndarray | None = None  # the size ellipsoid's matrix as the last growth left it (None: not grown)
    shrunk: bool = False  # no more shrinking in this history: a tumour correction click came (or,
    # without shrink_again, a click shrank the size ellipsoid)
    shrink_amat: np.ndarray | None = None  # the size ellipsoid's matrix as the last shrinking left it (None: none)

    def forget_history(self) -> None:
        """A new first region: no mask shown yet, nothing grown or shrunk (each history field back to its default)."""
        defaults = {f.name: f.default for f in fields(self)}
        for name in HISTORY_FIELDS:
            setattr(self, name, defaults[name])
