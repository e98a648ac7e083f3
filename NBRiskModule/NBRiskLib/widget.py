"""The NBRisk panel: loads the .ui, binds it to the parameter node, forwards clicks to the logic, shows results.

Follows PythonQt's rules (Slicer): Qt *properties* are attributes - read ``combo.count``, write
``label.text = ...`` - and only real methods are called (``addItems``, ``findText``, ``setRange``); the tests load
this module with PySide6's ``true_property`` so a property called as a method fails there as in Slicer.
Path fields are plain strings bound by hand to the ``ctkPathLineEdit``s (folder fields use CTK's ``Dirs``
filter in the .ui), so an unset path shows an empty field, not ".". Presentation comes from
``nbrisk.prediction.review``; nothing here decides anything medical.
"""

from __future__ import annotations

import contextlib
import json
import logging
import traceback
from pathlib import Path

import qt
import slicer
import vtk
from slicer.util import VTKObservationMixin

from nbrisk.errors import NBRiskError
from NBRiskLib import dependencies
from NBRiskLib.idrf_view import IdrfSection
from NBRiskLib.parameter_node import NBRiskParameterNode
from NBRiskLib.protocols import JobRunner, PanelLogic
from NBRiskLib.runner import CliRunner
from NBRiskLib.study_view import StudySection

logger = logging.getLogger(__name__)

ACTION_BUTTONS = ("growButton", "autosegButton", "loadBundleButton", "predictButton", "suggestHintsButton",
                  "computeStagingButton", "exportStudyButton", "importStudyButton", "analyzeStudyButton")


# ctkPathLineEdit -> parameter field (str): bound in code because Slicer's ctkPathLineEdit connector needs a
# Path field, whose unset value Path() shows as "."
PATH_FIELDS = {"bundlePathLineEdit": "bundlePath", "checklistPathLineEdit": "checklistPath",
               "studyManifestPathLineEdit": "studyManifest", "studyDirectoryPathLineEdit": "studyDirectory",
               "importFolderPathLineEdit": "importFolder", "studyResultsPathLineEdit": "studyResults"}


from NBRiskLib.study_view import path_or_none as _path  # noqa: E402


class NBRiskPanel(IdrfSection, StudySection, VTKObservationMixin):
    """Owns the loaded .ui (``uiWidget``/``ui``), the parameter node binding and the running job."""

    def __init__(self, uiPath, logic: PanelLogic, runner: JobRunner | None = None, requirementsPath=None) -> None:
        VTKObservationMixin.__init__(self)
        self.uiWidget = slicer.util.loadUI(str(uiPath))
        self.ui = slicer.util.childWidgetVariables(self.uiWidget)
        self.uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = logic
        self.runner = runner or CliRunner()
        self.requirementsPath = requirementsPath
        self.lastError: str | None = None
        self.lastPredictionView = None
        self._parameterNode: NBRiskParameterNode | None = None
        self._guiTag = None
        self._dependenciesChecked = False
        self._clinicalEditors: dict = {}
        self._checklist = None
        self._classNames: dict[str, str] = {}
        self._observedSegmentation = None
        self._connectSignals()

    # ---- lifecycle (called by NBRiskModuleWidget) -------------------------------------------------------
    def _connectSignals(self) -> None:
        ui = self.ui
        for button, slot in (("installDependenciesButton", self.onInstallDependencies), ("growButton", self.onGrow),
                             ("loadBundleButton", self.onLoadBundle), ("predictButton", self.onPredict),
                             ("cancelJobButton", self.onCancelJob), ("suggestHintsButton", self.onSuggestHints),
                             ("computeStagingButton", self.onComputeStaging),
                             ("saveChecklistButton", self.onSaveChecklist),
                             ("loadChecklistButton", self.onLoadChecklist), ("exportStudyButton", self.onExportStudy),
                             ("importStudyButton", self.onImportStudy), ("analyzeStudyButton", self.onAnalyzeStudy),
                             ("openStudyReportButton", self.onOpenStudyReport),
                             ("acceptHintsButton", self.onAcceptHints),
                             ("openReportButton", self.onOpenReport),
                             ("exportDicomButton", self.onExportDicom), ("acceptGrowButton", self.onAcceptGrow),
                             ("autosegButton", self.onAutoSegment),
                             ("undoGrowButton", self.onUndoGrow)):
            getattr(ui, button).clicked.connect(slot)
        ui.presetComboBox.currentTextChanged.connect(self._onPresetChanged)
        for widgetName, field in PATH_FIELDS.items():
            getattr(ui, widgetName).currentPathChanged.connect(
                lambda path, field=field: self._onPathEdited(field, path))
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self._onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self._onSceneEndClose)

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        """Leave the module: stop the embedded Segment Editor's effect (no painting elsewhere), unbind."""
        self.ui.segmentEditorWidget.setActiveEffect(None)
        self.setParameterNode(None)

    def cleanup(self) -> None:
        self.setParameterNode(None)
        self.removeObservers()
        self.runner.cancel()

    def _onSceneStartClose(self, caller=None, event=None) -> None:
        self.setParameterNode(None)

    def _onSceneEndClose(self, caller=None, event=None) -> None:
        if self.uiWidget.visible:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        node = self._parameterNode
        if not node.inputVolume:
            first = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if first:
                node.inputVolume = first
        self._populateChoices()
        if node.lastPrediction:
            self._showPrediction(json.loads(node.lastPrediction), writeScene=False)
        if node.checklistJson and self._checklist is None:
            with self._userAction("Could not restore the IDRF checklist"):
                from nbrisk.staging import idrf

                self._setChecklist(idrf.Checklist.from_dict(json.loads(node.checklistJson)))

    def setParameterNode(self, parameterNode: NBRiskParameterNode | None) -> None:
        if self._parameterNode is not None:
            self._parameterNode.disconnectGui(self._guiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateState)
        self._parameterNode = parameterNode
        if parameterNode is not None:
            self._guiTag = parameterNode.connectGui(self.ui)
            self.addObserver(parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateState)
            self._updateState()

    @property
    def parameterNode(self) -> NBRiskParameterNode | None:
        return self._parameterNode

    def _updateState(self, caller=None, event=None) -> None:
        p, busy = self._parameterNode, self.runner.is_running()
        ready = {
            "growButton": bool(p and p.inputVolume and p.segmentation
                               and (p.tumourSeeds or self.logic.has_painted_seeds(p.segmentation))),
            "autosegButton": bool(p and p.inputVolume and p.segmentation),
            "loadBundleButton": bool(p and _path(p.bundlePath)),
            "predictButton": bool(p and p.inputVolume and p.segmentation and _path(p.bundlePath)),
            "suggestHintsButton": bool(p and p.inputVolume and p.segmentation),
            "computeStagingButton": True,
            "exportStudyButton": bool(p and _path(p.studyDirectory) and (p.inputVolume or _path(p.studyManifest))),
            "importStudyButton": bool(p and _path(p.studyDirectory) and _path(p.importFolder)),
            "analyzeStudyButton": bool(p and _path(p.studyDirectory)),
        }
        for name in ACTION_BUTTONS:
            getattr(self.ui, name).enabled = ready[name] and not busy
        self.ui.cancelJobButton.enabled = busy
        preview = bool(p and self.logic.has_grow_preview(p.segmentation))
        self.ui.acceptGrowButton.enabled = preview
        self.ui.undoGrowButton.enabled = preview
        if p is not None:
            self._syncMrmlWidgets(p)
            self._syncPathWidgets(p)
            self._observeSegmentation(p.segmentation)
            self._observeSeeds(p.tumourSeeds, p.backgroundSeeds, p.tumourBox)

    def _observeSeeds(self, *nodes) -> None:
        """While a grow preview is shown, each seed the user places and each box drawn or resized re-runs the grow
        (the correction loop). A box handle drag ends with ``PointEndInteractionEvent`` (one grow per drag, not one
        per mouse move)."""
        nodes = tuple(n for n in nodes if n is not None)
        old = getattr(self, "_observedSeeds", ())
        if nodes == old:
            return
        markups = slicer.vtkMRMLMarkupsNode
        events = (markups.PointPositionDefinedEvent, markups.PointEndInteractionEvent)
        for node in old:
            for event in events:
                self.removeObserver(node, event, self._onSeedPlaced)
        for node in nodes:
            for event in events:
                self.addObserver(node, event, self._onSeedPlaced)
        self._observedSeeds = nodes

    def _onSeedPlaced(self, caller=None, event=None) -> None:
        p = self._parameterNode
        if p is not None and self.logic.has_grow_preview(p.segmentation) and not self.runner.is_running():
            self.onGrow()

    def _observeSegmentation(self, node) -> None:
        """Follow segments added/removed in the Segment Editor (painted seeds, preview) to update the buttons, and
        strokes painted into the seed segment (each re-runs the grow while a preview is shown)."""
        if node is self._observedSegmentation:
            return
        old, self._observedSegmentation = self._observedSegmentation, node
        for target, segmentation in ((old, False), (node, True)):
            if target is None:
                continue
            change = self.addObserver if segmentation else self.removeObserver
            for event in (slicer.vtkSegmentation.SegmentAdded, slicer.vtkSegmentation.SegmentRemoved):
                change(target.GetSegmentation(), event, self._updateState)
            change(target.GetSegmentation(), slicer.vtkSegmentation.SegmentModified, self._onSegmentModified)

    @vtk.calldata_type(vtk.VTK_STRING)
    def _onSegmentModified(self, caller=None, event=None, segmentId=None) -> None:
        """A segment's voxels (or name, colour) changed: a stroke in the seed segment re-runs the grow."""
        p = self._parameterNode
        if p is not None and segmentId and self.logic.is_seed_segment(p.segmentation, str(segmentId)):
            self._onSeedPlaced()
    def _syncPathWidgets(self, p: NBRiskParameterNode) -> None:
        for widgetName, field in PATH_FIELDS.items():
            widget, value = getattr(self.ui, widgetName), getattr(p, field)
            if widget.currentPath != value:
                widget.currentPath = value

    def _onPathEdited(self, field: str, path) -> None:
        if self._parameterNode is not None and getattr(self._parameterNode, field) != str(path).strip():
            setattr(self._parameterNode, field, str(path).strip())

    def _syncMrmlWidgets(self, p: NBRiskParameterNode) -> None:
        """Point the embedded Segment Editor and the seed-placement buttons at the selected nodes."""
        editor = self.ui.segmentEditorWidget
        if editor.mrmlSegmentEditorNode() is None:
            editor.setMRMLSegmentEditorNode(self.logic.segment_editor_node())
        if editor.segmentationNode() is not p.segmentation:
            editor.setSegmentationNode(p.segmentation)
        if editor.sourceVolumeNode() is not p.inputVolume:
            editor.setSourceVolumeNode(p.inputVolume)
        for place, node in ((self.ui.tumourSeedsPlaceWidget, p.tumourSeeds),
                            (self.ui.backgroundSeedsPlaceWidget, p.backgroundSeeds),
                            (self.ui.tumourBoxPlaceWidget, p.tumourBox)):
            if place.currentNode() is not node:
                place.setCurrentNode(node)

    # ---- helpers ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _userAction(self, title: str):
        """Run a user action: wait cursor; core errors shown as their one-line message, others with details."""
        slicer.app.setOverrideCursor(qt.Qt.WaitCursor)
        try:
            yield
        except NBRiskError as exc:
            self._showError(f"{title}: {exc}")
        except Exception as exc:
            logger.exception(title)
            self._showError(f"{title}: {exc}", traceback.format_exc())
        finally:
            slicer.app.restoreOverrideCursor()

    def _showError(self, message: str, details: str | None = None) -> None:
        self.lastError = message
        self.ui.statusLabel.text = message
        if details:
            slicer.util.errorDisplay(message, detailedText=details)
        else:
            slicer.util.errorDisplay(message)

    def _status(self, text: str) -> None:
        self.ui.statusLabel.text = text

    def _ensureDependencies(self) -> None:
        if not self._dependenciesChecked and self.requirementsPath:
            dependencies.ensure(self.requirementsPath)
        self._dependenciesChecked = True

    def _startJob(self, title: str, args: list[str], onSuccess) -> None:
        self.lastError = None
        self.ui.progressBar.setRange(0, 0)
        self._status(f"{title}...")

        def finished(code: int, lastLine: str) -> None:
            self.ui.progressBar.setRange(0, 100)
            self.ui.progressBar.value = 100 if code == 0 else 0
            self._updateState()
            if code != 0:
                message = lastLine.split("error:", 1)[-1].strip() or f"exit code {code}"
                self._showError(f"{title} failed: {message}")
                return
            with self._userAction(f"{title} failed"):
                onSuccess()
                self._status(f"{title}: done.")

        def output(line: str, fraction) -> None:
            self.ui.studyLogTextEdit.appendPlainText(line)
            if fraction is not None:
                self.ui.progressBar.setRange(0, 100)
                self.ui.progressBar.value = round(100 * fraction)

        self.ui.studyLogTextEdit.appendPlainText("$ nbrisk " + " ".join(args))
        self.runner.start(args, finished, output)
        self._updateState()

    def onInstallDependencies(self) -> None:
        with self._userAction("Python packages not installed"):
            self._dependenciesChecked = False
            self._ensureDependencies()
            self._status("All Python packages NBRisk needs are installed.")

    def _populateChoices(self) -> None:
        """Fill the preset and INRG combo boxes from the core (once; pure-Python core, no optional deps)."""
        from NBRiskLib import idrf_view

        with self._userAction("Could not read the presets and INRG values"):
            if not self.ui.presetComboBox.count:
                self.ui.presetComboBox.addItems(["", *self.logic.preset_names()])
            idrf_view.populate_choices(self.ui)
            if not self.ui.autosegModelComboBox.count:
                try:
                    models = self.logic.autoseg_models()
                except ImportError:  # before the dependency install; the built-in model ships with the core
                    models = [("Built-in U-Net (synthetic phantoms only, not for patients)", "builtin")]
                for label, value in models:
                    self.ui.autosegModelComboBox.addItem(label, value)
            preset = self._parameterNode.preset if self._parameterNode else ""
            if preset:
                self.ui.presetComboBox.currentIndex = max(0, self.ui.presetComboBox.findText(preset))

    def onCancelJob(self) -> None:
        self.runner.cancel()

    def _onPresetChanged(self, text: str) -> None:
        if self._parameterNode is not None:
            self._parameterNode.preset = text

    # ---- segmentation -----------------------------------------------------------------------------------
    def onGrow(self) -> None:
        p = self._parameterNode
        with self._userAction("Growing the tumour failed"):
            self._ensureDependencies()
            summary = self.logic.grow_tumour(p.inputVolume, p.tumourSeeds, p.backgroundSeeds, p.segmentation,
                                             p.tumourSegmentName, p.largestSlice2D, p.tumourBox)
            notes = summary.get("notes") or []
            seeds = (f"; {summary.get('tumour_seeds', 0)} tumour and {summary.get('background_seeds', 0)} "
                     "background seed(s) used" + (" inside the box" if summary.get("box") else ""))
            self.ui.segmentationInfoLabel.text = (
                f"{p.tumourSegmentName}: {summary['volume_ml']:.1f} ml on {summary['slices']} slice(s){seeds}"
                + "".join(f"\nCheck: {n}" for n in notes))
            tip = ""
            if not summary.get("box") and not p.largestSlice2D and summary.get("tumour_seeds", 0) == 1 \
                    and not summary.get("background_seeds", 0):
                tip = (" Tip: draw a box around the tumour (Place box), the strongest prompt: one click gave a "
                       "median Dice of 0.74 (CT) and 0.58 (T1 MRI) on public sarcomas, one click + a box 0.81.")
            self._status("Grown tumour shown in yellow: 'Accept' makes it the tumour segment, 'Undo' removes it"
                         + ("; check the warning below first." if notes else ".") + tip)
            self._updateState()

    def onAutoSegment(self) -> None:
        p = self._parameterNode
        with self._userAction("Automatic segmentation failed"):
            self._ensureDependencies()
            combo = self.ui.autosegModelComboBox  # currentData is a property in PythonQt, a method in PySide6
            model = combo.itemData(combo.currentIndex) or "builtin"
            args, maskPath = self.logic.autoseg_args(p.inputVolume, p.tumourSeeds, p.backgroundSeeds, p.segmentation,
                                                     str(model), self.logic.work_dir())
            self._startJob("Segmenting the tumour automatically", args, lambda: self._onAutoSegmentDone(maskPath))

    def _onAutoSegmentDone(self, maskPath: Path) -> None:
        p = self._parameterNode
        with self._userAction("Could not show the automatic segmentation"):
            summary = self.logic.show_autoseg_preview(maskPath, p.inputVolume, p.segmentation)
            model = self.ui.autosegModelComboBox.currentText
            self.ui.segmentationInfoLabel.text = (f"Automatic ({model}): {summary['volume_ml']:.1f} ml on "
                                                  f"{summary['slices']} slice(s)")
            self._status("Automatic segmentation shown in yellow: 'Accept' makes it the tumour segment, 'Undo' "
                         "removes it; correct it in the Segment Editor before extraction.")
            self._updateState()

    def onAcceptGrow(self) -> None:
        p = self._parameterNode
        with self._userAction("Could not accept the grown tumour"):
            self.logic.accept_grow(p.inputVolume, p.segmentation, p.tumourSegmentName)
            self._status(f"'{p.tumourSegmentName}' replaced by the grown tumour; refine it with the Segment Editor.")
            self._updateState()

    def onUndoGrow(self) -> None:
        p = self._parameterNode
        with self._userAction("Could not undo the grow"):
            self.logic.discard_grow(p.segmentation)
            self.ui.segmentationInfoLabel.text = ""
            self._status("Grow undone; the tumour segment is unchanged.")
            self._updateState()

    # ---- model and results ------------------------------------------------------------------------------
    def onLoadBundle(self) -> None:
        from nbrisk.prediction import review

        with self._userAction("Could not load the model bundle"):
            self._ensureDependencies()
            card = self.logic.load_bundle_card(_path(self._parameterNode.bundlePath))
            lines = review.card_lines(card)
            self._classNames = review.class_names(card)
            self.ui.modelCardTextBrowser.plainText = "\n".join(f"{k}: {v}" for k, v in lines)
            self._buildClinicalFields(review.clinical_fields(card))
            preset = review.card_preset(card)
            if preset:
                self._parameterNode.preset = preset
                self.ui.presetComboBox.currentIndex = max(0, self.ui.presetComboBox.findText(preset))
            self._status(f"Model loaded: {len(self._clinicalEditors)} clinical input(s) requested.")

    def _buildClinicalFields(self, fields) -> None:
        layout = self.ui.clinicalInputsGroupBox.layout()
        while layout.rowCount():
            layout.removeRow(0)
        self._clinicalEditors = {}
        saved = dict(self._parameterNode.clinicalInputs or {})
        for field in fields:
            if field.choices:
                editor = qt.QComboBox()
                editor.addItems(["", *field.choices])
                editor.currentIndex = max(0, editor.findText(saved.get(field.name, "")))
            else:
                editor = qt.QLineEdit()
                hint = [field.kind] + ([f"{field.low:g}-{field.high:g}"] if field.low is not None else [])
                editor.placeholderText = " ".join([*hint, field.unit]).strip()
                editor.text = saved.get(field.name, "")
            editor.objectName = f"clinical_{field.name}"
            layout.addRow(field.label, editor)
            self._clinicalEditors[field.name] = editor
        if not fields:
            layout.addRow(qt.QLabel("This model needs no clinical inputs."))

    def clinicalValues(self) -> dict[str, str]:
        values = {}
        for name, editor in self._clinicalEditors.items():
            text = editor.currentText if isinstance(editor, qt.QComboBox) else editor.text
            values[name] = str(text).strip()
        return values

    def onPredict(self) -> None:
        p = self._parameterNode
        with self._userAction("Prediction failed"):
            self._ensureDependencies()
            clinical = self.clinicalValues()
            p.clinicalInputs = clinical
            args, resultPath = self.logic.prediction_args(p.inputVolume, p.segmentation, p.tumourSegmentName,
                                                          _path(p.bundlePath), clinical, self.logic.work_dir(),
                                                          p.checklistJson)
            self._startJob("Computing the risk score", args, lambda: self._onPredictionDone(resultPath))

    def _onPredictionDone(self, resultPath: Path) -> None:
        prediction = self.logic.read_prediction(resultPath)
        report = resultPath.parent / "report.html"
        prediction.setdefault("report_path", str(report) if report.exists() else "")
        self._parameterNode.lastPrediction = json.dumps(prediction)
        self._showPrediction(prediction)

    def _showPrediction(self, prediction: dict, writeScene: bool = True) -> None:
        from nbrisk.prediction import review

        view = review.prediction_view(prediction, names=self._classNames)
        self.lastPredictionView = view
        ui = self.ui
        ui.riskScoreLabel.text = view.score_text
        ui.riskClassLabel.text = view.class_text
        ui.thresholdLabel.text = view.threshold_text
        ui.riskCategoryLabel.text = view.category_text
        ui.warningsLabel.text = "\n".join(view.warnings) if view.warnings else "No warnings."
        table = ui.contributionsTableWidget
        table.columnCount = 3
        table.setHorizontalHeaderLabels(["Feature", "Value", "Contribution"])
        table.rowCount = len(view.contributions)
        for row, c in enumerate(view.contributions):
            for col, text in enumerate((c.feature, c.value, c.effect)):
                table.setItem(row, col, qt.QTableWidgetItem(text))
        table.resizeColumnsToContents()
        if writeScene:
            p = self._parameterNode
            name = p.inputVolume.GetName() if p.inputVolume else "case"
            p.resultsTable = self.logic.show_prediction(view, p.segmentation, p.tumourSegmentName, p.resultsTable,
                                                        name)

    def onExportDicom(self) -> None:
        from NBRiskLib import idrf_view

        p = self._parameterNode
        with self._userAction("DICOM export failed"):
            self._ensureDependencies()
            prediction = json.loads(p.lastPrediction or "{}")
            checklist = getattr(self, "_checklist", None)
            inrg = json.dumps(idrf_view.staging_result(self.ui, checklist)) if checklist is not None else ""
            report = prediction.get("report_path") or ""
            out = (Path(report).parent if report else self.logic.work_dir()) / "dicom"
            files = self.logic.export_dicom_results(p.inputVolume, p.segmentation, p.tumourSegmentName, prediction,
                                                    p.checklistJson, inrg, out)
            self.lastDicomExport = files
            self._status(f"Wrote DICOM SEG {files['seg']} and SR {files['sr']} (research use); send them to PACS "
                         "with the DICOM module.")

    def onOpenReport(self) -> None:
        with self._userAction("Could not open the report"):
            report = json.loads(self._parameterNode.lastPrediction or "{}").get("report_path")
            if not report or not Path(report).exists():
                raise NBRiskError("No report yet: press 'Compute risk' first.")
            qt.QDesktopServices.openUrl(qt.QUrl.fromLocalFile(str(report)))
