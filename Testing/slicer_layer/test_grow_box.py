"""Issue 23 in Slicer: the box prompt (a markups ROI) and one grow path (``segment_interactive``) for every 3-D grow.

Real MRML (slicer-core) for the ROI, volume and segmentation nodes; the panel on the PySide6 stand-in. The phantom
is ``nbrisk.synthetic.phantom.make_phantom`` written to NRRD and loaded with ``slicer.util.loadVolume``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from .conftest import errors
from .panel_helpers import build_module_widget, prop

vtk = pytest.importorskip("vtk", reason="needs VTK (installed with slicer-core)")

PREVIEW = "NBRisk grow preview"


def _phantom(tmp_path: Path):
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    phantom = make_phantom(PhantomSpec(modality="ct"), seed=1)
    path = tmp_path / "phantom.nrrd"
    sitk.WriteImage(phantom.image, str(path))
    return phantom, path


def _truth_box_lps(phantom, margin_mm: float = 3.0) -> tuple[float, ...]:
    """The truth's bounding box (voxel centres, LPS mm) grown by ``margin_mm`` on each side."""
    kji = np.argwhere(sitk.GetArrayViewFromImage(phantom.tumour) > 0)
    lo = phantom.image.TransformIndexToPhysicalPoint([int(v) for v in kji.min(axis=0)[::-1]])
    hi = phantom.image.TransformIndexToPhysicalPoint([int(v) for v in kji.max(axis=0)[::-1]])
    return (*[v - margin_mm for v in lo], *[v + margin_mm for v in hi])


def _roi_for_lps_box(scene, box: tuple[float, ...], name: str = "box"):
    """An axis-aligned markups ROI covering an LPS box (placed the way Slicer stores it: RAS centre + size)."""
    x0, y0, z0, x1, y1, z1 = box
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    roi.SetCenter(-(x0 + x1) / 2, -(y0 + y1) / 2, (z0 + z1) / 2)  # LPS -> RAS
    roi.SetSize(x1 - x0, y1 - y0, z1 - z0)
    return roi


def _panel_on_phantom(standin, tmp_path: Path, click: bool = True):
    phantom, path = _phantom(tmp_path)
    _, widget = build_module_widget()
    p = widget.panel.parameterNode
    p.inputVolume = standin.util.loadVolume(str(path))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.segmentation.CreateDefaultDisplayNodes()
    if click:
        seeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
        c = phantom.tumour_centre_lps
        seeds.AddControlPoint([-c[0], -c[1], c[2]])  # LPS -> RAS
        p.tumourSeeds = seeds
    return phantom, widget, p  # the caller keeps the module widget: it owns the panel's Qt widgets


def _preview(standin, p) -> np.ndarray:
    segment_id = p.segmentation.GetSegmentation().GetSegmentIdBySegmentName(PREVIEW)
    assert segment_id, "no grow preview"
    return standin.util.arrayFromSegmentBinaryLabelmap(p.segmentation, segment_id, p.inputVolume).copy() > 0


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float(np.logical_and(a, b).sum()) / float(a.sum() + b.sum())


def _inside(mask: np.ndarray, image: sitk.Image, box: tuple[float, ...]) -> bool:
    """Every voxel of ``mask`` has its centre within the LPS box (half a voxel of tolerance)."""
    kji = np.argwhere(mask)
    lps = np.array([image.TransformIndexToPhysicalPoint([int(i), int(j), int(k)]) for k, j, i in kji])
    half = np.array(image.GetSpacing()) / 2
    return bool(np.all(lps >= np.array(box[:3]) - half) and np.all(lps <= np.array(box[3:]) + half))


# ------------------------------------------------------------------------------------------------ ROI -> LPS box
def test_roi_becomes_the_axis_aligned_lps_box(mrml_app) -> None:
    from NBRiskLib import slicer_logic

    scene = mrml_app.mrmlScene
    roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
    assert slicer_logic.roi_box_lps(roi) is None          # selected but not drawn yet: no box
    assert slicer_logic.roi_box_lps(None) is None
    roi.SetCenter(10.0, -20.0, 30.0)                      # RAS
    roi.SetSize(20.0, 10.0, 6.0)
    # RAS x in [0, 20], y in [-25, -15], z in [27, 33] -> LPS x in [-20, 0], y in [15, 25], z unchanged
    assert slicer_logic.roi_box_lps(roi) == pytest.approx((-20.0, 15.0, 27.0, 0.0, 25.0, 33.0))

    # rotated 30 degrees about the z axis: the box holding its 8 corners (half sides 10 and 5 mm in-plane)
    rotation = vtk.vtkTransform()
    rotation.Translate(10.0, -20.0, 30.0)
    rotation.RotateZ(30.0)
    roi.SetAndObserveObjectToNodeMatrix(rotation.GetMatrix())
    cos, sin = np.cos(np.pi / 6), np.sin(np.pi / 6)
    hx, hy = 10 * cos + 5 * sin, 10 * sin + 5 * cos        # 11.160 and 9.330 mm
    expected = (-10.0 - hx, 20.0 - hy, 27.0, -10.0 + hx, 20.0 + hy, 33.0)
    assert slicer_logic.roi_box_lps(roi) == pytest.approx(expected)
    ras = [0.0] * 6
    roi.GetRASBounds(ras)                                 # Slicer's own world bounds agree (after the flip)
    assert slicer_logic.roi_box_lps(roi) == pytest.approx((-ras[1], -ras[3], ras[4], -ras[0], -ras[2], ras[5]))

    # under a parent transform the world position counts (moved 5 mm to the right = -5 mm in L)
    shift = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "shift")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 3, 5.0)
    shift.SetMatrixTransformToParent(matrix)
    roi.SetAndObserveTransformNodeID(shift.GetID())
    moved = slicer_logic.roi_box_lps(roi)
    assert moved == pytest.approx((expected[0] - 5.0, *expected[1:3], expected[3] - 5.0, *expected[4:]))


# -------------------------------------------------------------------------------------------- grow with the box
def test_grow_with_a_box_stays_inside_it_and_finds_the_tumour(standin, tmp_path: Path) -> None:
    from nbrisk.segmentation.interactive import Prompts, segment_interactive

    phantom, widget, p = _panel_on_phantom(standin, tmp_path)
    panel = widget.panel
    box = _truth_box_lps(phantom)
    p.tumourBox = _roi_for_lps_box(standin.mrmlScene, box)
    assert panel.ui.tumourBoxPlaceWidget.currentNode() is p.tumourBox    # 'Place box' acts on the selected ROI
    assert panel.ui.tumourBoxSelector.currentNode() is p.tumourBox
    panel.onGrow()
    assert errors(standin) == []
    assert "1 tumour and 0 background seed(s) used inside the box" in prop(panel.ui.segmentationInfoLabel, "text")
    assert "Tip:" not in prop(panel.ui.statusLabel, "text")
    preview = _preview(standin, p)
    truth = sitk.GetArrayFromImage(phantom.tumour) > 0
    assert _inside(preview, phantom.image, box)
    assert _dice(preview, truth) >= 0.8, _dice(preview, truth)
    # exactly what the core gives for the same click and box (the CLI and the benchmark call the same function)
    core = segment_interactive(phantom.image, Prompts(tumour=[phantom.tumour_centre_lps], box=box))
    np.testing.assert_array_equal(preview, sitk.GetArrayFromImage(core.mask) > 0)


def test_resizing_the_box_regrows_and_a_seed_outside_it_is_a_one_line_error(standin, tmp_path: Path) -> None:
    """While a preview is shown, the end of a box drag (PointEndInteractionEvent) re-runs the grow; a box that
    leaves the seed outside gives the core's one-line message and leaves the preview as it was."""
    import slicer

    from nbrisk.segmentation.interactive import Prompts, segment_interactive

    phantom, widget, p = _panel_on_phantom(standin, tmp_path)
    panel = widget.panel
    box = _truth_box_lps(phantom)
    roi = _roi_for_lps_box(standin.mrmlScene, box)
    p.tumourBox = roi
    panel.onGrow()
    first = _preview(standin, p)
    # shrink the box to the tumour's left half (L = larger x): the grow follows on its own
    half = (phantom.tumour_centre_lps[0] - 4.0, *box[1:])
    roi.SetCenter(-(half[0] + half[3]) / 2, -(half[1] + half[4]) / 2, (half[2] + half[5]) / 2)
    roi.SetSize(half[3] - half[0], half[4] - half[1], half[5] - half[2])
    roi.InvokeEvent(slicer.vtkMRMLMarkupsNode.PointEndInteractionEvent)
    assert errors(standin) == []
    smaller = _preview(standin, p)
    assert smaller.sum() < 0.8 * first.sum() and _inside(smaller, phantom.image, half)
    fresh = segment_interactive(phantom.image, Prompts(tumour=[phantom.tumour_centre_lps], box=half))
    np.testing.assert_array_equal(smaller, sitk.GetArrayFromImage(fresh.mask) > 0)  # the new box, not the old one
    # move the box off the seed: one-line error in the status line, preview unchanged
    x, y, z = roi.GetCenter()
    roi.SetCenter(x + 40.0, y, z)  # 40 mm to the right (R): seed outside
    roi.InvokeEvent(slicer.vtkMRMLMarkupsNode.PointEndInteractionEvent)
    status = prop(panel.ui.statusLabel, "text")
    assert status.startswith("Growing the tumour failed: a tumour seed") and "lies outside the box" in status
    assert "\n" not in status and errors(standin) == [status]
    np.testing.assert_array_equal(_preview(standin, p), smaller)


def test_without_a_box_one_click_is_exactly_the_core_result(standin, tmp_path: Path) -> None:
    """One path: the panel's one-click grow is ``segment_interactive`` on the same image (was the old region
    competition), and a second click reuses the cached state with the same result as a fresh core call."""
    from nbrisk.segmentation.interactive import Prompts, segment_interactive

    phantom, widget, p = _panel_on_phantom(standin, tmp_path)
    panel = widget.panel
    image = sitk.ReadImage(str(tmp_path / "phantom.nrrd"))
    c = phantom.tumour_centre_lps
    panel.onGrow()
    assert errors(standin) == []
    core = segment_interactive(image, Prompts(tumour=[c]))
    np.testing.assert_array_equal(_preview(standin, p), sitk.GetArrayFromImage(core.mask) > 0)
    assert "Tip: draw a box around the tumour (Place box)" in prop(panel.ui.statusLabel, "text")
    background = (c[0] + 25.0, c[1], c[2])            # a background click beside the tumour (LPS)
    p.backgroundSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "background")
    p.backgroundSeeds.AddControlPoint([-background[0], -background[1], background[2]])  # placing it re-grows
    assert errors(standin) == []
    assert "1 tumour and 1 background seed(s) used" in prop(panel.ui.segmentationInfoLabel, "text")
    assert "Tip:" not in prop(panel.ui.statusLabel, "text")  # the reader is correcting: no more tips
    again = segment_interactive(image, Prompts(tumour=[c], background=[background]))
    np.testing.assert_array_equal(_preview(standin, p), sitk.GetArrayFromImage(again.mask) > 0)


def test_the_2d_mode_keeps_the_region_competition_and_says_it_ignores_the_box(standin, tmp_path: Path) -> None:
    from nbrisk.segmentation.grow import grow_with_notes

    phantom, widget, p = _panel_on_phantom(standin, tmp_path)
    panel = widget.panel
    p.tumourBox = _roi_for_lps_box(standin.mrmlScene, _truth_box_lps(phantom))
    p.largestSlice2D = True
    panel.onGrow()
    assert errors(standin) == []
    assert "the box is not used by the 2-D mode" in prop(panel.ui.segmentationInfoLabel, "text")
    mask, _ = grow_with_notes(sitk.ReadImage(str(tmp_path / "phantom.nrrd")), [phantom.tumour_centre_lps],
                              background_lps=[], slice_2d=True)
    np.testing.assert_array_equal(_preview(standin, p), sitk.GetArrayFromImage(mask) > 0)


def test_painted_strokes_are_the_seed_labelmap_and_each_stroke_regrows(standin, tmp_path: Path) -> None:
    """Strokes in the 'NBRisk seeds' segment go to the core as ``Prompts.labelmap`` (all painted voxels, not a
    sample of points); with a preview shown, each stroke re-runs the grow (the segment's SegmentModified event)."""
    from nbrisk.segmentation.interactive import Prompts, segment_interactive
    from NBRiskLib import slicer_logic

    phantom, widget, p = _panel_on_phantom(standin, tmp_path, click=False)
    panel = widget.panel
    image = sitk.ReadImage(str(tmp_path / "phantom.nrrd"))
    i, j, k = image.TransformPhysicalPointToIndex(phantom.tumour_centre_lps)
    strokes = np.zeros(sitk.GetArrayViewFromImage(image).shape, dtype=np.uint8)
    strokes[k, j - 1 : j + 2, i - 4 : i + 1] = 1             # first stroke, in the tumour's centre slice
    seeds_id = slicer_logic.find_or_add_segment(p.segmentation, "NBRisk seeds")
    standin.util.updateSegmentBinaryLabelmapFromArray(strokes, p.segmentation, seeds_id, p.inputVolume)
    assert prop(panel.ui.growButton, "enabled")
    panel.onGrow()
    assert errors(standin) == []
    assert "1 tumour and 0 background seed(s) used" in prop(panel.ui.segmentationInfoLabel, "text")

    def core(array: np.ndarray) -> np.ndarray:
        labelmap = sitk.GetImageFromArray(array)
        labelmap.CopyInformation(image)
        return sitk.GetArrayFromImage(segment_interactive(image, Prompts(labelmap=labelmap)).mask) > 0

    first = _preview(standin, p)
    np.testing.assert_array_equal(first, core(strokes))
    strokes[k + 3, j + 4 : j + 6, i + 2 : i + 6] = 1         # a second stroke two slices up: the grow follows
    standin.util.updateSegmentBinaryLabelmapFromArray(strokes, p.segmentation, seeds_id, p.inputVolume)
    assert errors(standin) == []
    assert "2 tumour and 0 background seed(s) used" in prop(panel.ui.segmentationInfoLabel, "text")
    second = _preview(standin, p)
    assert not np.array_equal(second, first)
    np.testing.assert_array_equal(second, core(strokes))
    assert second[k, j, i - 2] and second[k + 3, j + 5, i + 4]  # both strokes lie in the grown region


def test_the_preview_write_replaces_the_whole_segment_from_the_mask_box(mrml_app, tmp_path: Path) -> None:
    """The preview is written as the mask's bounding box only (MODE_REPLACE): a smaller mask after a larger one
    leaves nothing of the larger behind; an empty mask and a volume under a transform take the whole-volume path."""
    from NBRiskLib import slicer_logic

    phantom, path = _phantom(tmp_path)
    volume = mrml_app.util.loadVolume(str(path))
    seg = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    seg.CreateDefaultDisplayNodes()
    seg.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    sid = slicer_logic.find_or_add_segment(seg, PREVIEW)
    small = sitk.GetArrayFromImage(phantom.tumour) > 0
    big = np.zeros_like(small)
    big[2:-2, 5:-5, 5:-5] = True

    def write_and_read(arr: np.ndarray) -> np.ndarray:
        m = sitk.GetImageFromArray(arr.astype(np.uint8))
        m.CopyInformation(phantom.image)
        slicer_logic.update_segment_from_mask(m, seg, sid, volume)
        return mrml_app.util.arrayFromSegmentBinaryLabelmap(seg, sid, volume) > 0

    assert np.array_equal(write_and_read(big), big)
    assert np.array_equal(write_and_read(small), small)
    assert not write_and_read(np.zeros_like(small)).any()
    transform = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "t")
    volume.SetAndObserveTransformNodeID(transform.GetID())
    assert np.array_equal(write_and_read(small), small)


def test_the_panel_shows_the_first_regions_leak_warning(standin, tmp_path: Path, monkeypatch) -> None:
    """A grow whose first region leaked (the demo's case001, venous phase) says so under the segment, as the
    region competition's grow did before every 3-D grow went through ``segment_interactive``. The first click keeps
    the 5 mm seed sphere here: with the thirteenth round's wider one no demo case leaks far enough to warn."""
    import csv

    import nbrisk.segmentation.interactive as inter
    from nbrisk.synthetic.phantom import make_cohort

    real = inter._first_click_region
    monkeypatch.setattr(inter, "_first_click_region", lambda *a: real(*a[:6], 5.0))

    manifest = make_cohort(tmp_path, 1, seed=0, modality="ct", phases=("venous",))
    with open(manifest.parent / "seeds.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    _, widget = build_module_widget()
    p = widget.panel.parameterNode
    p.inputVolume = standin.util.loadVolume(str(tmp_path / "case001_venous.nrrd"))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.segmentation.CreateDefaultDisplayNodes()
    seeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    seeds.AddControlPoint([-float(row["x"]), -float(row["y"]), float(row["z"])])  # LPS -> RAS
    p.tumourSeeds = seeds
    widget.panel.onGrow()
    assert errors(standin) == []
    text = prop(widget.panel.ui.segmentationInfoLabel, "text")
    assert "\nCheck: the first click's region may have leaked into surrounding tissue" in text
    assert _preview(standin, p).any()
