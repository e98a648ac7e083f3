"""The interactive benchmark's methods (``bench/bench_interactive_seg.py``): what each ``--methods`` name runs.

``baseline`` (threshold around the seeds' intensity in the box), ``today`` (``grow_from_seeds``, the method before
issue 23), ``ellipsoid`` (the box's inscribed ellipsoid, clicks ignored), ``new``
(:func:`nbrisk.segmentation.interactive.segment_interactive` with its defaults) and issue 23's earlier rounds, each
pinned by the ``InteractiveParams`` that undo the later rounds' changes (the dicts below chain them). ``nninteractive``
runs a learned model (nnInteractive) where it and its weights are installed (its class says how). A method is a
class built with the image and called with (tumour clicks, background clicks, box) in LPS mm; it returns the mask
shown as a (z, y, x) bool array.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


class Baseline:
    """Threshold around the tumour seeds' intensity inside the box (seeds +- 50 mm without one)."""

    name = "baseline"

    def __init__(self, img: sitk.Image) -> None:
        self.img = img
        self.arr = sitk.GetArrayFromImage(img).astype(np.float32)
        self.sp = np.array(img.GetSpacing())[::-1]
        self.smooth = None

    def __call__(self, tumour, background, box):
        idx = lambda p: np.array(self.img.TransformPhysicalPointToIndex(p))[::-1]  # noqa: E731
        t = np.array([idx(p) for p in tumour])
        if box is not None:
            lo, hi = np.minimum(idx(box[:3]), idx(box[3:])), np.maximum(idx(box[:3]), idx(box[3:])) + 1
        else:
            m = np.ceil(50.0 / self.sp).astype(int)
            lo, hi = t.min(axis=0) - m, t.max(axis=0) + 1 + m
        lo, hi = np.clip(lo, 0, self.arr.shape), np.clip(hi, 0, self.arr.shape)
        sl = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        sub = ndimage.gaussian_filter(self.arr[sl], 1.0 / self.sp)
        keep = np.zeros(sub.shape, bool)
        r = np.ceil(3.0 / self.sp).astype(int)
        for c in t - lo:
            s = sub[tuple(slice(max(a - b, 0), a + b + 1) for a, b in zip(c, r, strict=True))]
            med = float(np.median(s))
            sd = max(1.4826 * float(np.median(np.abs(s - med))), 1e-3 * abs(med) + 1e-6)
            keep |= np.abs(sub - med) <= 2.5 * sd
        for b in background:
            c = idx(b) - lo
            keep[
                tuple(
                    slice(max(a - k, 0), a + k + 1)
                    for a, k in zip(c, np.ceil(5.0 / self.sp).astype(int), strict=True)
                )
            ] = False
        lab, _ = ndimage.label(keep)
        ids = {int(lab[tuple(np.clip(c, 0, np.array(sub.shape) - 1))]) for c in t - lo} - {0}
        reg = ndimage.binary_fill_holes(np.isin(lab, list(ids))) if ids else keep & False
        out = np.zeros(self.arr.shape, bool)
        out[sl] = reg
        return out


class Today:
    name = "today"

    def __init__(self, img: sitk.Image) -> None:
        self.img = img

    def __call__(self, tumour, background, box):
        from nbrisk.segmentation.grow import grow_from_seeds

        m = grow_from_seeds(self.img, tumour, background, box)
        return sitk.GetArrayViewFromImage(m) > 0


class New:
    name = "new"

    def __init__(self, img: sitk.Image, params=None) -> None:
        self.img, self.state, self.params = img, None, params

    def __call__(self, tumour, background, box):
        from nbrisk.segmentation.interactive import Prompts, segment_interactive

        r = segment_interactive(
            self.img, Prompts(list(tumour), list(background), box), self.state, self.params
        )
        self.state = r.state
        return sitk.GetArrayViewFromImage(r.mask) > 0


UNBOUNDED_SEEDS = {"seed_box_share": 0.0}  # before the sixteenth round a box did not bound the first click's seed
# sphere
NO_WHOLE_ERODE = {"background_erode": 0.0, **UNBOUNDED_SEEDS}  # before the fourteenth round no background click eroded
# the whole mask
FIVE_MM_SEEDS = {"seed_radius_max_mm": 5.0, **NO_WHOLE_ERODE}  # before the thirteenth round the first click's
# competition learnt its tumour model from a 5 mm sphere around the click, whatever the tumour's size
# before the tenth round's second change the size ellipsoid shrank at most once
ONE_SHRINK = {"shrink_again": False, **FIVE_MM_SEEDS}
ONE_GROWTH = {"grow_again_outside": 0.0, **ONE_SHRINK}  # before the tenth round it grew at most once per history
# before the ninth round the geodesic result alone could refuse a tumour push
NO_MODEL_ADD = {"tumour_model_p": 0.0, **ONE_GROWTH}
ANY_CLICK_GROWS = {"grow_max_click": 0, **NO_MODEL_ADD}  # before the eighth round's second change a late click could
# grow the size
NO_SMOOTH = {"shown_smooth_mm": 0.0, **ANY_CLICK_GROWS}  # before the eighth round the mask shown was not smoothed
NO_SHRINK = {"shrink_to": 0.0, "shrink_to_rays": 0.0, **NO_SMOOTH}  # before the seventh round no click shrank the
# size ellipsoid


class Round1(New):
    """Issue 23's first round (2026-12-05): the region competition for the first click, zones of 1.5x."""

    name = "round1"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(first_click="competition", zone_factor=1.5,
                                                          sequential=False, correction="geodesic/geodesic",
                                                          **NO_SMOOTH))


class Round2(New):
    """Issue 23's second round (2026-12-06): graph cut for the first click, every correction click acting on the
    first region through the geodesic competition, order-free."""

    name = "round2"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(
            img, params or InteractiveParams(sequential=False, correction="geodesic/geodesic", mr_size="rc",
                                             **NO_SMOOTH)
        )


class Round3(New):
    """Issue 23's third round (2026-12-06): corrections on the mask shown (geodesic result and pushed border);
    on MRI without a box, the first click's ellipsoid still from the region competition's mask."""

    name = "round3"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(
            img, params or InteractiveParams(mr_size="rc", deform_over="geodesic", grow_to=0.0, **NO_SHRINK)
        )


class Round4(New):
    """Issue 23's fourth round (2026-12-06): as the third, but on MRI without a box the first click's ellipsoid from
    rays; a background push that would remove over a fifth of the mask still left to the geodesic result."""

    name = "round4"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(deform_over="geodesic", grow_to=0.0, **NO_SHRINK))


class Round5(New):
    """Issue 23's fifth round (2026-12-06): as the fourth, but without a box a background push that would remove over
    a fifth of the mask is lowered (and the first click's graph cut capped at 400 000 voxels); no click grows the
    first click's size ellipsoid."""

    name = "round5"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(grow_to=0.0, **NO_SHRINK))


class Round6(New):
    """Issue 23's sixth round (2026-12-06): as the fifth, but without a box the first tumour correction click outside
    the first click's size ellipsoid grows it; no click shrinks it."""

    name = "round6"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**NO_SHRINK))


class Round7(New):
    """Issue 23's seventh round (2026-12-06): as the sixth, but without a box a background click deep in the mask and
    inside the first click's size ellipsoid, before any tumour correction click, shrinks it; the mask shown not
    smoothed."""

    name = "round7"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**NO_SMOOTH))


class Round8(New):
    """Issue 23's eighth round, its first change (2026-12-06): as the seventh, but the mask shown smoothed (sigma 1.5
    mm); any tumour correction click outside the size ellipsoid (before a background click) may grow it."""

    name = "round8"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**ANY_CLICK_GROWS))


class Round8F(New):
    """Issue 23's eighth round as it ended (2026-12-06): as ``round8``, but only a click up to the fourth may grow the
    size ellipsoid; a tumour click's push adds only where the geodesic result agrees."""

    name = "round8f"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**NO_MODEL_ADD))


class Round9(New):
    """Issue 23's ninth round as it ended (2026-12-06): a tumour click's push also adds where the per-case model leans
    tumour; the size ellipsoid grows at most once per history."""

    name = "round9"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**ONE_GROWTH))


class Round12(New):
    """Issue 23's twelfth round as it ended (2026-12-06; the tenth's rules, the eleventh kept nothing): the first
    click's region competition learns its tumour model from a 5 mm sphere around the click."""

    name = "round12"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**FIVE_MM_SEEDS))


class Round13(New):
    """Issue 23's thirteenth round as it ended (2026-12-07): no background click erodes the whole mask (on the rays'
    ellipsoid, after two background clicks and no tumour correction click)."""

    name = "round13"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**NO_WHOLE_ERODE))


class Round15(New):
    """Issue 23's fifteenth round as it ended (2026-12-07, the same masks as the fourteenth's): with a box, the first
    click's seed sphere is not bounded by the box's size (``seed_box_share`` 0)."""

    name = "round15"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**UNBOUNDED_SEEDS))


class Round10A(New):
    """Issue 23's tenth round, first change alone (2026-12-06): a later tumour click beyond the grown size ellipsoid
    stretches it; the size ellipsoid shrinks at most once per history."""

    name = "round10a"

    def __init__(self, img: sitk.Image, params=None) -> None:
        from nbrisk.segmentation.interactive import InteractiveParams

        super().__init__(img, params or InteractiveParams(**ONE_SHRINK))


class BoxEllipsoid:
    """Shape only: the ellipsoid inscribed in the box (clicks ignored); how much a box alone says."""

    name = "ellipsoid"

    def __init__(self, img: sitk.Image) -> None:
        self.img = img

    def __call__(self, tumour, background, box):
        if box is None:
            return np.zeros(sitk.GetArrayViewFromImage(self.img).shape, bool)
        sp = np.array(self.img.GetSpacing())[::-1]
        a = np.array(self.img.TransformPhysicalPointToIndex(box[:3]))[::-1]
        b = np.array(self.img.TransformPhysicalPointToIndex(box[3:]))[::-1]
        from nbrisk.segmentation.graph_cut import _ellipsoid_from_box  # the graph cut's own shape prior

        centre, a_mat = _ellipsoid_from_box(np.minimum(a, b), np.maximum(a, b), sp)
        g = np.indices(sitk.GetArrayViewFromImage(self.img).shape).astype(np.float32) * sp[:, None, None, None]
        return ((g - centre[:, None, None, None]) ** 2 * np.diag(a_mat)[:, None, None, None]).sum(0) <= 1


class NNInteractive:
    """nnInteractive (MIC-DKFZ, github.com/MIC-DKFZ/nnInteractive), a learned 3-D interactive model, on the benchmark's
    prompts: for the day its weights and a GPU are at hand (issue 23's seventeenth session; neither is here).

    Needs ``pip install nninteractive`` and PyTorch (not NBRisk's dependencies) and ``NBRISK_NNINTERACTIVE_MODEL``, the
    model folder that ``nnInteractive.model_management.ensure_model_available`` returns (the official checkpoint is
    CC BY-NC-SA 4.0). The image goes in as stored, (z, y, x) voxels (nnInteractive works in voxel space and asks for
    no preprocessing); clicks are points, positive or negative. Its checkpoints take 2-D boxes only, so the benchmark's
    box becomes its rectangle on the first click's axial slice, given before that click. One session per process (the
    network is loaded once); each new image resets it.
    """

    name = "nninteractive"
    autozoom = True  # nnInteractive's default (AutoZoom: larger views for objects beyond one patch)
    _session = None

    def __init__(self, img: sitk.Image) -> None:
        import os

        try:
            import torch
            from nnInteractive.inference.inference_session import nnInteractiveInferenceSession
        except ImportError:
            raise SystemExit("nninteractive: pip install nninteractive (and PyTorch) to run this method") from None
        folder = os.environ.get("NBRISK_NNINTERACTIVE_MODEL")
        if not folder or not os.path.isdir(folder):
            raise SystemExit(f"nninteractive: NBRISK_NNINTERACTIVE_MODEL={folder!r} is not a model folder; set it to "
                             "the folder nnInteractive.model_management.ensure_model_available returns")
        cls = type(self)
        if cls._session is None or cls._session[0] != (folder, cls.autozoom):
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            session = nnInteractiveInferenceSession(device=device, torch_n_threads=os.cpu_count() or 1,
                                                    do_autozoom=cls.autozoom, verbose=False)
            session.initialize_from_trained_model_folder(folder)
            cls._session = ((folder, cls.autozoom), session)
        self.session = cls._session[1]
        self.img = img
        arr = sitk.GetArrayFromImage(img)
        self.session.set_image(arr[None])
        self.target = torch.zeros(arr.shape, dtype=torch.uint8)
        self.session.set_target_buffer(self.target)
        self.done = (0, 0)

    def _index(self, p) -> tuple[int, int, int]:
        """(z, y, x) voxel of an LPS point (the benchmark's clicks and box corners are voxel centres in the image)."""
        return tuple(int(v) for v in self.img.TransformPhysicalPointToIndex(tuple(map(float, p)))[::-1])

    def __call__(self, tumour, background, box):
        nt, nb = self.done
        if nt == 0 and box is not None and len(tumour):
            z = self._index(tumour[0])[0]
            a, b = np.array(self._index(box[:3])), np.array(self._index(box[3:]))
            lo, hi = np.minimum(a, b), np.maximum(a, b) + 1
            self.session.add_bbox_interaction([[z, z + 1], [int(lo[1]), int(hi[1])], [int(lo[2]), int(hi[2])]],
                                              include_interaction=True, run_prediction=False)
        for p in tumour[nt:]:
            self.session.add_point_interaction(self._index(p), include_interaction=True)
        for p in background[nb:]:
            self.session.add_point_interaction(self._index(p), include_interaction=False)
        self.done = (len(tumour), len(background))
        return self.target.numpy().astype(bool)


METHODS = {
    "baseline": Baseline,
    "today": Today,
    "round1": Round1,
    "round2": Round2,
    "round3": Round3,
    "round4": Round4,
    "round5": Round5,
    "round6": Round6,
    "round7": Round7,
    "round8": Round8,
    "round8f": Round8F,
    "round9": Round9,
    "round10a": Round10A,
    "round12": Round12,
    "round13": Round13,
    "round15": Round15,
    "ellipsoid": BoxEllipsoid,
    "new": New,
    "nninteractive": NNInteractive,
}
