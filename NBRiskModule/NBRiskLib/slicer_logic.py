"""MRML <-> core adapter: volume nodes to SimpleITK (RAS -> LPS), segments to label maps, results to nodes.

Slicer stores volumes in RAS (IJK->RAS matrix), ITK/SimpleITK and ``nbrisk`` use LPS. The two frames differ by a
sign flip of the first two axes, applied to the origin, to the direction matrix (row-wise) and to every point.
This module holds no business rules: it converts, calls ``nbrisk``, and writes what the core returned.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicer
import vtk
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleLogic
from vtk.util import numpy_support

from nbrisk.errors import InputError

logger = logging.getLogger(__name__)

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
TABLE_NAME = "NBRisk_{name}_results"
EDITOR_NODE_NAME = "NBRisk_SegmentEditor"
PREVIEW_SEGMENT = "NBRisk grow preview"
PREVIEW_RGB = (1.0, 0.85, 0.0)  # yellow: not yet the tumour
SEED_SEGMENT = "NBRisk seeds"   # seeds painted with the Segment Editor (alternative to markups points)
HELPER_SEGMENTS = (PREVIEW_SEGMENT, SEED_SEGMENT)  # never anatomy: left out of the IDRF structures
MAX_PAINTED_SEEDS = 64
NO_SEEDS = (f"No tumour seeds: place at least one point inside the tumour, or paint segment '{SEED_SEGMENT}' "
            "with the Segment Editor.")


def ras_to_lps(point: Sequence[float]) -> tuple[float, float, float]:
    """Convert a point (mm) between RAS and LPS (the flip is its own inverse)."""
    return (-float(point[0]), -float(point[1]), float(point[2]))


lps_to_ras = ras_to_lps


def image_from_volume(volume_node) -> sitk.Image:
    """Return a volume node's voxels as a SimpleITK image in LPS (origin, spacing and direction kept)."""
    if volume_node is None or volume_node.GetImageData() is None:
        raise InputError("No input volume: pick a CT or MRI volume in the Input section.")
    if volume_node.GetParentTransformNode() is not None:
        raise InputError(f"Volume '{volume_node.GetName()}' is under a transform: harden the transform first "
                         "(Transforms module) so the image grid is explicit.")
    image = sitk.GetImageFromArray(slicer.util.arrayFromVolume(volume_node))  # KJI order = ITK's; copies the voxels
    directions = np.zeros((3, 3))
    volume_node.GetIJKToRASDirections(directions)
    image.SetSpacing(tuple(float(s) for s in volume_node.GetSpacing()))
    image.SetOrigin(ras_to_lps(volume_node.GetOrigin()))
    image.SetDirection(tuple((RAS_TO_LPS @ directions).ravel()))
    return image


def set_volume_geometry(volume_node, image: sitk.Image) -> None:
    """Give a volume node the LPS geometry of a SimpleITK image (converted to RAS)."""
    volume_node.SetSpacing(image.GetSpacing())
    volume_node.SetOrigin(lps_to_ras(image.GetOrigin()))
    directions = RAS_TO_LPS @ np.array(image.GetDirection()).reshape(3, 3)
    volume_node.SetIJKToRASDirections(directions)


def add_volume_from_image(image: sitk.Image, name: str, class_name: str = "vtkMRMLScalarVolumeNode"):
    """Add a new volume node holding a SimpleITK image (LPS -> RAS)."""
    node = slicer.mrmlScene.AddNewNodeByClass(class_name, name)
    set_volume_geometry(node, image)
    slicer.util.updateVolumeFromArray(node, sitk.GetArrayFromImage(image))
    node.CreateDefaultDisplayNodes()
    return node


def mask_from_segment(segmentation_node, segment_id: str, volume_node) -> sitk.Image:
    """Return a segment as a binary uint8 label map resampled onto the volume's voxel grid (LPS)."""
    if segmentation_node is None or not segment_id:
        raise InputError("No tumour segment: grow one from seeds or draw it in the Segment Editor.")
    try:
        array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation_node, segment_id, volume_node)
    except RuntimeError as exc:  # Slicer cannot export an empty segment
        raise InputError(f"Segment '{segment_name(segmentation_node, segment_id)}' is empty or cannot be exported "
                         f"({exc}): draw or grow the tumour first.") from exc
    mask = sitk.GetImageFromArray((np.asarray(array) > 0).astype(np.uint8))
    mask.CopyInformation(image_from_volume(volume_node))
    if not np.any(array):
        raise InputError(f"Segment '{segment_name(segmentation_node, segment_id)}' is empty: draw or grow the "
                         "tumour first.")
    return mask


def update_segment_from_mask(mask: sitk.Image, segmentation_node, segment_id: str, volume_node) -> None:
    """Write a mask on the volume's grid into a segment (replacing its binary label map).

    Only the mask's bounding box is handed to Slicer (a labelmap with that extent on the volume's IJK-to-RAS
    geometry, MODE_REPLACE): writing the whole volume cost 0.45 s per grow on a 512x512x200 CT. A volume under a
    transform, or an empty mask, takes the whole-volume path of ``slicer.util``.
    """
    array = sitk.GetArrayViewFromImage(mask)
    nz = np.nonzero(array)
    if not len(nz[0]) or volume_node.GetParentTransformNode() is not None:
        slicer.util.updateSegmentBinaryLabelmapFromArray(np.asarray(array, dtype=np.uint8), segmentation_node,
                                                         segment_id, volume_node)
        return
    lo = [int(i.min()) for i in nz]
    hi = [int(i.max()) for i in nz]
    crop = np.ascontiguousarray(array[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] > 0, dtype=np.uint8)
    labelmap = slicer.vtkOrientedImageData()
    labelmap.SetExtent(lo[2], hi[2], lo[1], hi[1], lo[0], hi[0])
    labelmap.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())[:] = crop.ravel()  # (k, j, i) order
    ijk_to_ras = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(ijk_to_ras)
    labelmap.SetImageToWorldMatrix(ijk_to_ras)
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    if not logic.SetBinaryLabelmapToSegment(labelmap, segmentation_node, segment_id, logic.MODE_REPLACE):
        raise RuntimeError(f"Slicer could not write the mask into segment {segment_id}")


def segment_name(segmentation_node, segment_id: str) -> str:
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    return segment.GetName() if segment is not None else segment_id


def find_or_add_segment(segmentation_node, name: str) -> str:
    """Return the id of the segment called ``name``, adding an empty one if there is none."""
    segmentation = segmentation_node.GetSegmentation()
    segment_id = segmentation.GetSegmentIdBySegmentName(name)
    return segment_id or segmentation.AddEmptySegment(name, name)


def seeds_lps(markups_node) -> list[tuple[float, float, float]]:
    """Return the control points of a markups node as LPS points in mm (world coordinates)."""
    if markups_node is None:
        return []
    points = slicer.util.arrayFromMarkupsControlPoints(markups_node, world=True)
    return [ras_to_lps(p) for p in np.asarray(points).reshape(-1, 3)]


def painted_seeds_lps(segmentation_node, volume_node, limit: int = MAX_PAINTED_SEEDS) -> list[tuple]:
    """Voxel centres (LPS, mm) of the ``NBRisk seeds`` segment painted in the Segment Editor, at most ``limit``
    spread evenly over the painted voxels; [] when there is no such segment or it is empty."""
    if segmentation_node is None or volume_node is None:
        return []
    segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(SEED_SEGMENT)
    if not segment_id:
        return []
    try:
        array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation_node, segment_id, volume_node)
    except RuntimeError:  # empty segment
        return []
    kji = np.argwhere(np.asarray(array) > 0)
    if len(kji) > limit:
        kji = kji[np.linspace(0, len(kji) - 1, limit).astype(int)]
    image = image_from_volume(volume_node)
    return [image.TransformIndexToPhysicalPoint((int(i), int(j), int(k))) for k, j, i in kji]


def painted_seed_labelmap(segmentation_node, volume_node, image: sitk.Image) -> sitk.Image | None:
    """The ``NBRisk seeds`` segment as a seed labelmap on the volume's grid (1 = tumour), or None when there is
    no such segment or it is empty (``Prompts.labelmap`` of the interactive grow)."""
    if segmentation_node is None or volume_node is None:
        return None
    segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(SEED_SEGMENT)
    if not segment_id:
        return None
    try:
        array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation_node, segment_id, volume_node)
    except RuntimeError:  # empty segment
        return None
    if not np.any(array):
        return None
    labelmap = sitk.GetImageFromArray((np.asarray(array) > 0).astype(np.uint8))
    labelmap.CopyInformation(image)
    return labelmap


def roi_box_lps(roi_node) -> tuple[float, float, float, float, float, float] | None:
    """The axis-aligned LPS box (x0, y0, z0, x1, y1, z1, mm) around a markups ROI, or None when there is no ROI
    or it is not placed yet.

    The ROI's 8 corners (object bounds through its object-to-world matrix: rotation, parent transforms) are
    converted RAS -> LPS and their min/max taken, so a rotated ROI gives the box that holds all of it.
    """
    if roi_node is None or roi_node.GetNumberOfDefinedControlPoints() == 0:
        return None
    bounds = [0.0] * 6
    roi_node.GetObjectBounds(bounds)
    if bounds[1] - bounds[0] <= 0 or bounds[3] - bounds[2] <= 0 or bounds[5] - bounds[4] <= 0:
        return None
    to_world = slicer.util.arrayFromVTKMatrix(roi_node.GetObjectToWorldMatrix())
    corners = np.array([[x, y, z, 1.0] for x in bounds[0:2] for y in bounds[2:4] for z in bounds[4:6]])
    lps = (to_world @ corners.T).T[:, :3] * np.array([-1.0, -1.0, 1.0])
    low, high = lps.min(axis=0), lps.max(axis=0)
    return (float(low[0]), float(low[1]), float(low[2]), float(high[0]), float(high[1]), float(high[2]))


def structures_from_segmentation(segmentation_node, volume_node) -> tuple[sitk.Image, dict[int, str]]:
    """Merge every segment into one label map on the volume grid; return it and {label: segment name}."""
    segmentation = segmentation_node.GetSegmentation()
    reference = image_from_volume(volume_node)
    labels = np.zeros(sitk.GetArrayViewFromImage(reference).shape, dtype=np.uint8)
    names: dict[int, str] = {}
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        if segmentation.GetSegment(segment_id).GetName() in HELPER_SEGMENTS:
            continue
        try:
            array = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation_node, segment_id, volume_node)
        except RuntimeError:  # an empty segment has nothing to contribute to the hints
            logger.info("Segment %s is empty; skipped for IDRF hints", segment_id)
            continue
        labels[np.asarray(array) > 0] = index + 1
        names[index + 1] = segmentation.GetSegment(segment_id).GetName()
    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(reference)
    return image, names


def write_case_files(volume_node, mask: sitk.Image | None, folder: Path) -> tuple[Path, Path | None]:
    """Write the volume (and mask) as NRRD files for a CLI job; return their paths."""
    from nbrisk.io.images import write_image

    folder.mkdir(parents=True, exist_ok=True)
    image_path = folder / "image.nrrd"
    write_image(image_from_volume(volume_node), image_path)
    mask_path = None
    if mask is not None:
        mask_path = folder / "mask.nrrd"
        write_image(mask, mask_path)
    return image_path, mask_path


def case_id(volume_node) -> str:
    """A file-name-safe case id from the volume's name (the user's choice of pseudonym)."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in volume_node.GetName()) or "case"


def update_results_table(table_node, rows: Sequence[tuple[str, str]], name: str):
    """Fill (or create) a two-column string table node (Item, Value) with the shown results.

    Built from ``vtkStringArray`` columns: ``slicer.util.updateTableFromArray`` cannot take numpy string
    columns (VTK's numpy_support raises "Could not find a suitable VTK type for <U...").
    """
    if table_node is None:
        table_node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", TABLE_NAME.format(name=name))
    table = vtk.vtkTable()
    for column, title in enumerate(("Item", "Value")):
        array = vtk.vtkStringArray()
        array.SetName(title)
        for row in rows:
            array.InsertNextValue(str(row[column]))
        table.AddColumn(array)
    was_modifying = table_node.StartModify()
    table_node.SetAndObserveTable(table)
    table_node.SetUseColumnTitleAsColumnHeader(True)
    table_node.SetAttribute("NBRisk.Results", "1")
    table_node.EndModify(was_modifying)
    return table_node


def set_segment_colour(segmentation_node, segment_id: str, rgb: Sequence[float]) -> None:
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    if segment is not None:
        segment.SetColor(*[float(c) for c in rgb])


def show_slice_text(text: str) -> None:
    """Show a short text in the upper-right corner of every slice view's *overlay* corner annotation.

    ``qMRMLSliceWidget::overlayCornerAnnotation()`` is drawn above the views and left alone by DataProbe, which
    rewrites all four corners of ``sliceView().cornerAnnotation()`` on every slice change.
    """
    layout_manager = slicer.app.layoutManager()
    if layout_manager is None:
        return
    for view_name in layout_manager.sliceViewNames():
        widget = layout_manager.sliceWidget(view_name)
        widget.overlayCornerAnnotation().SetText(vtk.vtkCornerAnnotation.UpperRight, text)
        widget.sliceView().scheduleRender()


def show_preview(mask: sitk.Image, image: sitk.Image, volume_node, segmentation_node) -> dict[str, float]:
    """Write a mask into the yellow preview segment (grow or automatic); return its volume and slice count."""
    segmentation_node.SetReferenceImageGeometryParameterFromVolumeNode(volume_node)
    preview_id = find_or_add_segment(segmentation_node, PREVIEW_SEGMENT)
    set_segment_colour(segmentation_node, preview_id, PREVIEW_RGB)
    update_segment_from_mask(mask, segmentation_node, preview_id, volume_node)
    array = sitk.GetArrayViewFromImage(mask)
    voxel_ml = float(np.prod(image.GetSpacing())) / 1000.0
    return {"volume_ml": float(array.sum()) * voxel_ml, "slices": int(np.any(array, axis=(1, 2)).sum())}


class NBRiskLogic(ScriptedLoadableModuleLogic):
    """Everything the panel does, callable without the panel (scripts, the self-test)."""

    @property
    def _interactive(self) -> dict:
        """Per volume: (its image object, the box, the interactive grow's cached state) between seed edits."""
        if not hasattr(self, "_interactive_cache"):
            self._interactive_cache: dict = {}
        return self._interactive_cache

    def volume_image(self, volume_node) -> sitk.Image:
        """The volume as a SimpleITK image, one object per volume while its voxels and geometry stay the same
        (the interactive grow's cache belongs to that object)."""
        key = (volume_node.GetImageData().GetMTime() if volume_node.GetImageData() is not None else 0,
               tuple(volume_node.GetSpacing()), tuple(volume_node.GetOrigin()))
        cached = self._interactive.get(("image", volume_node.GetID()))
        if cached is not None and cached[0] == key:
            return cached[1]
        image = image_from_volume(volume_node)
        self._interactive[("image", volume_node.GetID())] = (key, image)
        return image

    def grow_tumour(self, volume_node, tumour_seeds, background_seeds, segmentation_node, segment_name_: str,
                    largest_slice_2d: bool = False, box_roi=None) -> dict[str, float]:
        """Grow the tumour from seed points, painted seeds and an optional box (markups ROI) into a yellow
        *preview* segment; return its summary. The tumour segment changes only when the user accepts
        (:meth:`accept_grow`).

        3-D: ``segment_interactive`` with the volume's cached state, the same call ``nbrisk segment`` and the
        benchmark make (clicks, background clicks, the painted ``NBRisk seeds`` segment as a seed labelmap, the
        box). The 2-D largest-slice mode keeps the region competition (``grow_with_notes``) and takes no box.
        """
        # loaded on first use: they need scikit-image/scipy, installed by the panel's dependency check
        from nbrisk.segmentation.grow import grow_with_notes
        from nbrisk.segmentation.interactive import Prompts, segment_interactive

        image = self.volume_image(volume_node) if volume_node is not None else image_from_volume(volume_node)
        if segmentation_node is None:
            raise InputError("No segmentation: pick or create one in the Segmentation section.")
        clicks = seeds_lps(tumour_seeds)
        background = seeds_lps(background_seeds)
        box = roi_box_lps(box_roi)
        if largest_slice_2d:
            seeds = clicks + painted_seeds_lps(segmentation_node, volume_node)
            if not seeds:
                raise InputError(NO_SEEDS)
            mask, notes = grow_with_notes(image, seeds, background_lps=background, slice_2d=True)
            if box is not None:
                notes = [*notes, "the box is not used by the 2-D mode (one axial slice); clear the 2-D option to "
                                 "grow with it"]
            n_tumour, n_background = len(seeds), len(background)
        else:
            painted = painted_seed_labelmap(segmentation_node, volume_node, image)
            if not clicks and painted is None:
                raise InputError(NO_SEEDS)
            # the cached state holds the working block of the last box: reused only for the same image and box
            cached = self._interactive.get(volume_node.GetID())
            state = cached[2] if cached and cached[0] is image and cached[1] == box else None
            result = segment_interactive(image, Prompts(tumour=clicks, background=background, box=box,
                                                        labelmap=painted), state)
            self._interactive[volume_node.GetID()] = (image, box, result.state)
            mask, notes = result.mask, result.notes
            n_tumour, n_background = result.n_tumour_seeds, result.n_background_seeds
        return {**show_preview(mask, image, volume_node, segmentation_node),
                "notes": notes, "tumour_seeds": n_tumour, "background_seeds": n_background,
                "box": box is not None}

    def autoseg_args(self, volume_node, tumour_seeds, background_seeds, segmentation_node, model: str,
                     work_dir: Path) -> tuple[list[str], Path]:
        """Write the volume to ``work_dir`` and return the ``nbrisk autoseg`` arguments and the mask's path.

        Seed points (markups or painted), when there are any, choose the model's region that holds them.
        """
        from nbrisk.segmentation.autoseg import panel_command

        if segmentation_node is None:
            raise InputError("No segmentation: pick or create one in the Segmentation section.")
        image_path, _ = write_case_files(volume_node, None, work_dir / "case")
        out = work_dir / "autoseg.nrrd"
        points = seeds_lps(tumour_seeds) + painted_seeds_lps(segmentation_node, volume_node)
        return panel_command(image_path, out, model or "builtin", points_lps=points,
                             background_lps=seeds_lps(background_seeds)), out

    def show_autoseg_preview(self, mask_path: Path, volume_node, segmentation_node) -> dict[str, float]:
        """Put an automatic segmentation (a mask file on the volume's grid) into the yellow preview segment."""
        from nbrisk.io.images import read_mask

        image = self.volume_image(volume_node)
        return show_preview(read_mask(mask_path, image, reference_path=None).image, image, volume_node,
                            segmentation_node)

    @staticmethod
    def autoseg_models() -> list[tuple[str, str]]:
        """(label, value) of the models the panel offers: the built-in U-Net first."""
        from nbrisk.segmentation.autoseg import model_choices

        return model_choices()

    def export_dicom_results(self, volume_node, segmentation_node, segment_name_: str, prediction: Mapping,
                             checklist_json: str, inrg_json: str, out_dir: Path) -> dict[str, Path]:
        """Write the tumour segment as a DICOM SEG and the prediction as a TID 1500 SR referencing the series.

        The volume must come from Slicer's DICOM database (its ``DICOM.instanceUIDs`` attribute names the files).
        """
        from nbrisk.io.dicom_source import dicom_source_from_files
        from nbrisk.prediction.dicom_export import export_dicom

        uids = (volume_node.GetAttribute("DICOM.instanceUIDs") or "").split() if volume_node else []
        database = getattr(slicer, "dicomDatabase", None)
        if not uids or database is None:
            raise InputError("This volume was not loaded from DICOM; load the series with the DICOM module to "
                             "export a DICOM SEG and SR that reference it.")
        files = [database.fileForInstance(uid) for uid in uids]
        missing = [uid for uid, f in zip(uids, files, strict=True) if not f]
        if missing:
            raise InputError(f"{len(missing)} instance(s) of this series are not in the DICOM database (first "
                             f"{missing[0]}); import the series into the DICOM database again.")
        if not prediction:
            raise InputError("No prediction yet: press 'Compute risk' first.")
        image = image_from_volume(volume_node)
        source = dicom_source_from_files(files, image)
        segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(segment_name_) \
            if segmentation_node is not None else ""
        mask = mask_from_segment(segmentation_node, segment_id, volume_node)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        idrf = json.loads(checklist_json) if checklist_json else None
        inrg = json.loads(inrg_json) if inrg_json else None
        return export_dicom(dict(prediction), source, mask, Path(out_dir) / "nbrisk_sr.dcm",
                            seg_algorithm_type="SEMIAUTOMATIC", idrf=idrf, inrg=inrg)

    @staticmethod
    def has_painted_seeds(segmentation_node) -> bool:
        return segmentation_node is not None and bool(
            segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(SEED_SEGMENT))

    @staticmethod
    def is_seed_segment(segmentation_node, segment_id: str) -> bool:
        """Whether ``segment_id`` is the painted ``NBRisk seeds`` segment (looked up by name, as the grow does)."""
        if segmentation_node is None or not segment_id:
            return False
        segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
        return segment is not None and segment.GetName() == SEED_SEGMENT

    @staticmethod
    def has_grow_preview(segmentation_node) -> bool:
        return segmentation_node is not None and bool(
            segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(PREVIEW_SEGMENT))

    def accept_grow(self, volume_node, segmentation_node, segment_name_: str) -> None:
        """Replace the tumour segment with the grow preview, then remove the preview (one undo step in Slicer's
        Segment Editor terms: the user saw the result before it touched the tumour)."""
        if not self.has_grow_preview(segmentation_node):
            raise InputError("No grow preview: press 'Grow tumour from seeds' first.")
        preview_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(PREVIEW_SEGMENT)
        mask = mask_from_segment(segmentation_node, preview_id, volume_node)
        segment_id = find_or_add_segment(segmentation_node, segment_name_)
        update_segment_from_mask(mask, segmentation_node, segment_id, volume_node)
        segmentation_node.GetSegmentation().RemoveSegment(preview_id)

    def discard_grow(self, segmentation_node) -> None:
        """Remove the grow preview; the tumour segment is left as it was."""
        if self.has_grow_preview(segmentation_node):
            segmentation = segmentation_node.GetSegmentation()
            segmentation.RemoveSegment(segmentation.GetSegmentIdBySegmentName(PREVIEW_SEGMENT))

    @staticmethod
    def segment_editor_node():
        """The scene's NBRisk segment editor node (created once; Slicer needs one per embedded editor)."""
        node = slicer.mrmlScene.GetFirstNodeByName(EDITOR_NODE_NAME)
        if node is None:
            node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentEditorNode", EDITOR_NODE_NAME)
        return node

    def preset_names(self) -> list[str]:
        """Names of the feature presets shipped with the core."""
        from nbrisk.features.presets import available_presets

        return list(available_presets())

    def load_bundle_card(self, bundle_path: Path) -> dict:
        """Load a model bundle (checksums, allow-listed types) and return its model card."""
        from nbrisk.bundle.format import load_bundle

        return dict(load_bundle(Path(bundle_path)).card)

    def prediction_args(self, volume_node, segmentation_node, segment_name_: str, bundle_path: Path,
                        clinical: Mapping[str, str], work_dir: Path,
                        checklist_json: str = "") -> tuple[list[str], Path]:
        """Write the case to ``work_dir`` and return the ``nbrisk predict`` arguments and the result path."""
        segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(segment_name_) \
            if segmentation_node is not None else ""
        mask = mask_from_segment(segmentation_node, segment_id, volume_node)
        image_path, mask_path = write_case_files(volume_node, mask, work_dir / "case")
        out = work_dir / "prediction"
        args = ["predict", "--model", str(bundle_path), "--image", str(image_path), "--mask", str(mask_path),
                "--out", str(out)]
        given = [f"{key}={value}" for key, value in clinical.items() if str(value).strip()]
        if given:
            args += ["--clinical", *given]
        if checklist_json:
            checklist_path = work_dir / "idrf_checklist.json"
            checklist_path.write_text(checklist_json, encoding="utf-8")
            args += ["--idrf", str(checklist_path)]
        return [*args, "--case-id", case_id(volume_node), "--no-pdf"], out / "prediction.json"

    def read_prediction(self, path: Path) -> dict:
        return json.loads(Path(path).read_text(encoding="utf-8"))

    def show_prediction(self, view, segmentation_node, segment_name_: str, table_node, case_name: str):
        """Write a prediction view to the scene: results table, segment colour, slice-view text."""
        table_node = update_results_table(table_node, view.table_rows, case_name)
        if segmentation_node is not None:
            segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(segment_name_)
            if segment_id:
                set_segment_colour(segmentation_node, segment_id, view.colour)
        show_slice_text(view.slice_text)
        return table_node

    def idrf_checklist(self, volume_node, segmentation_node, tumour_segment: str, checklist=None):
        """Return the checklist (a new one if None) with fresh image-derived hints from the segments.

        Hints are suggestions: item statuses are left as they are (see ``nbrisk.staging.idrf.accept_suggestions``).
        """
        from nbrisk.staging import hints as image_hints
        from nbrisk.staging import idrf

        structures, names = structures_from_segmentation(segmentation_node, volume_node)
        hints = image_hints.hints_from_segmentation(structures, names, tumour=tumour_segment)
        if checklist is None:
            return idrf.Checklist.new(volume_node.GetName(), hints=hints)
        checklist.hints = list(hints)
        return checklist

    def current_case_manifest(self, volume_node, segmentation_node, segment_name_: str, work_dir: Path) -> Path:
        """Write the current volume (and tumour segment, if any) as a one-case study manifest."""
        segment_id = ""
        if segmentation_node is not None:
            segment_id = segmentation_node.GetSegmentation().GetSegmentIdBySegmentName(segment_name_)
        mask = mask_from_segment(segmentation_node, segment_id, volume_node) if segment_id else None
        image_path, mask_path = write_case_files(volume_node, mask, work_dir / "case")
        manifest = work_dir / "manifest.csv"
        header, row = ["case_id", "image"], [case_id(volume_node), str(image_path)]
        if mask_path is not None:
            header.append("mask")
            row.append(str(mask_path))
        manifest.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
        return manifest

    @staticmethod
    def work_dir(prefix: str = "NBRisk-") -> Path:
        base = getattr(slicer.app, "temporaryPath", None) or tempfile.gettempdir()
        return Path(tempfile.mkdtemp(prefix=prefix, dir=base))
