"""MRML <-> SimpleITK conversions of NBRiskLib.slicer_logic on Slicer's real MRML (slicer-core), checked against
files read by SimpleITK itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

vtk = pytest.importorskip("vtk", reason="needs VTK (installed with slicer-core)")



def oblique_image(tmp_path: Path) -> tuple[sitk.Image, Path]:
    """A 3-D image with anisotropic spacing, an oblique direction and an off-centre origin, saved as NRRD."""
    rng = np.random.default_rng(3)
    image = sitk.GetImageFromArray(rng.integers(-100, 300, size=(12, 20, 16)).astype(np.int16))
    image.SetSpacing((0.8, 1.1, 2.5))
    image.SetOrigin((-35.5, 20.25, -101.0))
    angle = np.deg2rad(20)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    tilt = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    image.SetDirection(tuple((rot @ tilt).ravel()))
    path = tmp_path / "oblique.nrrd"
    sitk.WriteImage(image, str(path))
    return image, path


def test_volume_node_converts_to_the_same_lps_image_as_the_file(mrml_app, tmp_path: Path) -> None:
    from NBRiskLib import slicer_logic

    truth, path = oblique_image(tmp_path)
    node = mrml_app.util.loadVolume(path)
    assert node.GetOrigin()[0] == pytest.approx(35.5)          # stored in RAS, as Slicer does
    image = slicer_logic.image_from_volume(node)
    assert image.GetSize() == truth.GetSize()
    np.testing.assert_allclose(image.GetSpacing(), truth.GetSpacing())
    np.testing.assert_allclose(image.GetOrigin(), truth.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(image.GetDirection(), truth.GetDirection(), atol=1e-12)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(truth))
    voxel = (3, 7, 9)
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    ras = mrml_app.util.arrayFromVTKMatrix(matrix) @ np.array([*voxel, 1.0])
    lps = image.TransformIndexToPhysicalPoint(voxel)
    np.testing.assert_allclose(slicer_logic.ras_to_lps(ras[:3]), lps, atol=1e-9)


def test_the_image_owns_its_voxels(mrml_app, tmp_path: Path) -> None:
    """The image is a copy of the volume's voxels (SimpleITK copies them; an extra numpy copy cost a 512x512x200
    volume 0.5 s at the panel's first grow): later edits of the volume do not reach it."""
    from NBRiskLib import slicer_logic

    truth, path = oblique_image(tmp_path)
    node = mrml_app.util.loadVolume(path)
    image = slicer_logic.image_from_volume(node)
    mrml_app.util.arrayFromVolume(node)[:] = 7
    node.Modified()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(truth))


def test_image_round_trips_through_a_new_volume_node(mrml_app, tmp_path: Path) -> None:
    from NBRiskLib import slicer_logic

    truth, _ = oblique_image(tmp_path)
    node = slicer_logic.add_volume_from_image(truth, "roundtrip")
    back = slicer_logic.image_from_volume(node)
    np.testing.assert_allclose(back.GetOrigin(), truth.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(back.GetDirection(), truth.GetDirection(), atol=1e-12)
    assert node.GetOrigin() == pytest.approx(slicer_logic.lps_to_ras(truth.GetOrigin()))


def test_segment_is_exported_on_the_volume_grid(mrml_app, tmp_path: Path) -> None:
    """A segment stored on a coarser grid comes back resampled onto the volume's voxels."""
    from NBRiskLib import slicer_logic

    truth, path = oblique_image(tmp_path)
    volume = mrml_app.util.loadVolume(path)
    seg = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    segment_id = slicer_logic.find_or_add_segment(seg, "Tumour")
    assert slicer_logic.find_or_add_segment(seg, "tumour") == segment_id
    box = np.zeros(sitk.GetArrayViewFromImage(truth).shape, dtype=np.uint8)
    box[4:8, 5:15, 3:11] = 1
    mask = sitk.GetImageFromArray(box)
    mask.CopyInformation(truth)
    # write the segment from its own, cropped grid (same physical voxels, other origin and extent)
    cropped = sitk.RegionOfInterest(mask, size=(12, 14, 8), index=(2, 3, 2))
    assert cropped.GetOrigin() != mask.GetOrigin()
    cropped_volume = slicer_logic.add_volume_from_image(cropped, "cropped_grid")
    slicer_logic.update_segment_from_mask(cropped, seg, segment_id, cropped_volume)
    back = slicer_logic.mask_from_segment(seg, segment_id, volume)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), box)
    assert back.GetOrigin() == pytest.approx(truth.GetOrigin())


def test_empty_or_missing_segment_gives_a_clear_error(mrml_app, tmp_path: Path) -> None:
    from nbrisk.errors import InputError
    from NBRiskLib import slicer_logic

    _, path = oblique_image(tmp_path)
    volume = mrml_app.util.loadVolume(path)
    seg = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    segment_id = slicer_logic.find_or_add_segment(seg, "Tumour")
    with pytest.raises(InputError, match="'Tumour' is empty"):
        slicer_logic.mask_from_segment(seg, segment_id, volume)
    with pytest.raises(InputError, match="No input volume"):
        slicer_logic.image_from_volume(None)


def test_seeds_are_converted_from_ras_to_lps(mrml_app) -> None:
    from NBRiskLib import slicer_logic

    points = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    points.AddControlPoint([10.0, -20.0, 30.0])
    points.AddControlPoint([-1.5, 2.5, -3.5])
    assert slicer_logic.seeds_lps(points) == [(-10.0, 20.0, 30.0), (1.5, -2.5, -3.5)]
    assert slicer_logic.seeds_lps(None) == []


def test_structures_are_merged_into_one_label_map_with_names(mrml_app, tmp_path: Path) -> None:
    from NBRiskLib import slicer_logic

    truth, path = oblique_image(tmp_path)
    volume = mrml_app.util.loadVolume(path)
    seg = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    shape = sitk.GetArrayViewFromImage(truth).shape
    for name, sl in (("Tumour", np.s_[2:5, 2:6, 2:6]), ("aorta", np.s_[6:9, 10:12, 10:12])):
        array = np.zeros(shape, dtype=np.uint8)
        array[sl] = 1
        mask = sitk.GetImageFromArray(array)
        mask.CopyInformation(truth)
        slicer_logic.update_segment_from_mask(mask, seg, slicer_logic.find_or_add_segment(seg, name), volume)
    labels, names = slicer_logic.structures_from_segmentation(seg, volume)
    assert names == {1: "Tumour", 2: "aorta"}
    array = sitk.GetArrayFromImage(labels)
    assert (array == 1).sum() == 3 * 4 * 4 and (array == 2).sum() == 3 * 2 * 2


def test_results_go_to_a_table_node_a_segment_colour_and_the_slice_views(mrml_app, tmp_path: Path) -> None:
    from nbrisk.prediction import review
    from NBRiskLib import slicer_logic

    _, path = oblique_image(tmp_path)
    volume = mrml_app.util.loadVolume(path)
    seg = mrml_app.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    segment_id = slicer_logic.find_or_add_segment(seg, "Tumour")
    view = review.prediction_view({"probability": 0.82, "threshold": 0.4, "predicted_class": 1,
                                   "positive_class": 1, "risk_category": "high"})
    table = slicer_logic.NBRiskLogic().show_prediction(view, seg, "Tumour", None, "case7")
    assert table.GetName() == "NBRisk_case7_results"
    assert table.GetColumnName(0) == "Item" and table.GetCellText(0, 1) == "0.82"
    assert seg.GetSegmentation().GetSegment(segment_id).GetColor() == review.POSITIVE_RGB
    red = mrml_app.app.layoutManager().sliceWidget("Red")
    assert "p=0.82" in red.overlayCornerAnnotation().GetText(vtk.vtkCornerAnnotation.UpperRight)
    assert red.sliceView().renders == 1
    assert volume is not None


def test_results_table_holds_strings_in_real_mrml(mrml_app) -> None:
    """Defect 2: slicer.util.updateTableFromArray raised on string columns; the table now has string columns."""
    from NBRiskLib import slicer_logic

    with pytest.raises(TypeError, match="suitable VTK type"):  # what the old code hit in real Slicer
        mrml_app.util.updateTableFromArray(None, [np.array(["a"]), np.array(["b"])], ["Item", "Value"])
    rows = [("Probability", "0.82"), ("Class", "high risk"), ("Threshold", "0.40")]
    table = slicer_logic.update_results_table(None, rows, "case9")
    assert table.GetNumberOfRows() == 3 and table.GetNumberOfColumns() == 2
    assert [table.GetCellText(r, 1) for r in range(3)] == ["0.82", "high risk", "0.40"]
    assert table.GetTable().GetColumn(1).GetClassName() == "vtkStringArray"
    again = slicer_logic.update_results_table(table, rows[:1], "case9")
    assert again is table and table.GetNumberOfRows() == 1


def test_risk_text_survives_data_probe_rewriting_the_corners(mrml_app) -> None:
    """Defect 6: DataProbe rewrites sliceView().cornerAnnotation() on every slice change; NBRisk uses the overlay."""
    from slicerapp import data_probe_update

    from NBRiskLib import slicer_logic

    slicer_logic.show_slice_text("NBRisk p=0.82 high")
    layout = mrml_app.app.layoutManager()
    data_probe_update(layout)
    for name in layout.sliceViewNames():
        widget = layout.sliceWidget(name)
        assert widget.overlayCornerAnnotation().GetText(vtk.vtkCornerAnnotation.UpperRight) == "NBRisk p=0.82 high"
        assert "NBRisk" not in widget.sliceView().cornerAnnotation().GetText(vtk.vtkCornerAnnotation.UpperRight)
