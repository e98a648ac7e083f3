"""The interfaces the panel depends on (typing Protocols, as SlicerNNUnet does).

``widget.NBRiskPanel`` and the views talk to the logic and the job runner only through these methods, so a
test can hand the panel a fake (a ``MagicMock`` or a small class) and the real ``NBRiskLogic``/``CliRunner``
interchangeably. Only these interfaces are meant to be stable; a test checks the real classes provide them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class PanelLogic(Protocol):
    """What the panel asks of the module logic (MRML in, core calls, MRML out)."""

    def getParameterNode(self) -> Any: ...

    def preset_names(self) -> list[str]: ...

    def work_dir(self) -> Path: ...

    def segment_editor_node(self) -> Any: ...

    def has_painted_seeds(self, segmentation_node: Any) -> bool: ...

    def has_grow_preview(self, segmentation_node: Any) -> bool: ...

    def is_seed_segment(self, segmentation_node: Any, segment_id: str) -> bool: ...

    def grow_tumour(self, volume_node: Any, tumour_seeds: Any, background_seeds: Any, segmentation_node: Any,
                    segment_name_: str, largest_slice_2d: bool = False, box_roi: Any = None) -> dict[str, Any]: ...

    def accept_grow(self, volume_node: Any, segmentation_node: Any, segment_name_: str) -> None: ...

    def autoseg_models(self) -> list[tuple[str, str]]: ...

    def autoseg_args(self, volume_node: Any, tumour_seeds: Any, background_seeds: Any, segmentation_node: Any,
                     model: str, work_dir: Path) -> tuple[list[str], Path]: ...

    def show_autoseg_preview(self, mask_path: Path, volume_node: Any, segmentation_node: Any) -> dict[str, float]: ...

    def discard_grow(self, segmentation_node: Any) -> None: ...

    def load_bundle_card(self, bundle_path: Path) -> dict: ...

    def prediction_args(self, volume_node: Any, segmentation_node: Any, segment_name_: str, bundle_path: Path,
                        clinical: Mapping[str, str], work_dir: Path,
                        checklist_json: str = "") -> tuple[list[str], Path]: ...

    def read_prediction(self, path: Path) -> dict: ...

    def export_dicom_results(self, volume_node: Any, segmentation_node: Any, segment_name_: str,
                             prediction: Mapping, checklist_json: str, inrg_json: str,
                             out_dir: Path) -> dict[str, Path]: ...

    def show_prediction(self, view: Any, segmentation_node: Any, segment_name_: str, table_node: Any,
                        case_name: str) -> Any: ...

    def idrf_checklist(self, volume_node: Any, segmentation_node: Any, tumour_segment: str,
                       checklist: Any = None) -> Any: ...

    def current_case_manifest(self, volume_node: Any, segmentation_node: Any, segment_name_: str,
                              work_dir: Path) -> Path: ...


@runtime_checkable
class JobRunner(Protocol):
    """Runs ``nbrisk`` verbs outside the GUI thread and reports back in it."""

    def is_running(self) -> bool: ...

    def start(self, args: Sequence[str], on_finished: Callable[[int, str], None],
              on_output: Callable[[str, float | None], None] | None = None) -> None: ...

    def cancel(self) -> None: ...
