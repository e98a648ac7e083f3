"""Reader-study section of the panel: export, import and analysis run as ``nbrisk study ...`` subprocesses.

The panel only assembles the command line from its fields; the study logic (blinding, checksums, Dice, ICC)
is all in ``nbrisk.reproducibility.study`` and runs in the subprocess.
"""

from __future__ import annotations

from pathlib import Path

import qt

from nbrisk.errors import NBRiskError


def path_or_none(value) -> Path | None:
    """A parameter-node path field (a string), or None when unset."""
    text = str(value or "").strip()
    return None if text in ("", ".") else Path(text)


_path = path_or_none


class StudySection:
    """Reader-study handlers of the panel (mixed into ``NBRiskPanel``)."""

    def onExportStudy(self) -> None:
        p = self._parameterNode
        with self._userAction("Study export failed"):
            self._ensureDependencies()
            manifest = _path(p.studyManifest) or self.logic.current_case_manifest(
                p.inputVolume, p.segmentation, p.tumourSegmentName, self.logic.work_dir())
            args = ["study", "export", "--manifest", str(manifest), "--readers", p.readers,
                    "--out", str(_path(p.studyDirectory))]
            self._startJob("Exporting the blinded reader study", args, lambda: None)

    def onImportStudy(self) -> None:
        p = self._parameterNode
        args = ["study", "import", "--study", str(_path(p.studyDirectory)), "--reader", p.importReader,
                "--from", str(_path(p.importFolder))]
        with self._userAction("Study import failed"):
            self._ensureDependencies()
            self._startJob(f"Importing reader {p.importReader}", args, lambda: None)

    def onAnalyzeStudy(self) -> None:
        p = self._parameterNode
        with self._userAction("Study analysis failed"):
            self._ensureDependencies()
            results = _path(p.studyResults) or _path(p.studyDirectory) / "results"
            p.studyResults = str(results)
            preset = p.preset or self.ui.presetComboBox.currentText
            if not preset:
                raise NBRiskError("Choose a feature preset in the Input section before analysing the study.")
            args = ["study", "analyze", "--study", str(_path(p.studyDirectory)), "--preset", preset,
                    "--out", str(results)]
            self._startJob("Analysing the reader study", args, lambda: None)

    def onOpenStudyReport(self) -> None:
        with self._userAction("Could not open the study report"):
            results = _path(self._parameterNode.studyResults)
            reports = sorted(results.rglob("*.html")) if results and results.is_dir() else []
            if not reports:
                raise NBRiskError(f"No study report (*.html) in {results}: run 'Analyze' first.")
            qt.QDesktopServices.openUrl(qt.QUrl.fromLocalFile(str(reports[0])))
            self._status(f"Opened {reports[0].name}")
