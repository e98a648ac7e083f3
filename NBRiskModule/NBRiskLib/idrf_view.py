"""IDRF section of the panel: checklist rows into a table, INRG inputs from combo boxes into core calls.

Rows, statuses and valid values all come from ``nbrisk.staging.idrf`` / ``nbrisk.staging.inrg``; this module only
copies them onto widgets and back (no IDRF or staging rule lives here).
"""

from __future__ import annotations

import json

import qt

from nbrisk.errors import NBRiskError
from NBRiskLib.study_view import path_or_none as _path

COLUMNS = ["Status", "Item", "Image hint", "Region"]
STATUS_COLUMN = 0
INRG_COMBOS = (("histologyComboBox", "HISTOLOGY"), ("gradeComboBox", "GRADES"), ("mycnComboBox", "MYCN"),
               ("aberration11qComboBox", "ABERRATION_11Q"), ("ploidyComboBox", "PLOIDY"))
UNKNOWN = "unknown"
NO_METASTASES = "none"


def _current_text(combo) -> str:
    return str(combo.currentText)  # a Qt property: an attribute under PythonQt


def fill_table(table, checklist, on_status_changed) -> None:
    """Show ``nbrisk.staging.idrf.checklist_view`` rows; each status is a combo box that reports changes."""
    from nbrisk.staging import idrf

    rows = idrf.checklist_view(checklist)
    table.clear()
    table.columnCount = len(COLUMNS)
    table.setHorizontalHeaderLabels(COLUMNS)
    table.rowCount = len(rows)
    for index, row in enumerate(rows):
        item = qt.QTableWidgetItem(row.text)
        item.setToolTip(f"{row.id}" + (f" - note: {row.note}" if row.note else ""))
        table.setItem(index, 1, item)
        table.setItem(index, 3, qt.QTableWidgetItem(row.region))
        combo = qt.QComboBox()
        combo.addItems(list(idrf.STATUSES))
        combo.currentIndex = list(idrf.STATUSES).index(row.status)
        combo.objectName = f"idrfStatus_{row.id}"
        combo.currentTextChanged.connect(lambda text, item_id=row.id: on_status_changed(item_id, text))
        table.setCellWidget(index, STATUS_COLUMN, combo)
        hint = f"[{row.suggestion}] {row.hint}" if row.hint else ""
        table.setItem(index, 2, qt.QTableWidgetItem(hint))
    table.resizeColumnsToContents()


def set_status(checklist, item_id: str, status: str) -> None:
    checklist.set(item_id, status)


def summary(checklist) -> str:
    from nbrisk.staging import inrg

    open_ids = checklist.open_idrfs()
    surgical = inrg.surgical_risk_seed001(checklist)
    label = {True: "at risk", False: "not at risk", None: "undetermined"}[surgical.label]
    return (f"{checklist.positive_count} IDRF(s) present, {len(open_ids)} not yet answered; "
            f"{len(checklist.hints)} image hint(s). Seed-001 surgical risk: {label}")


def populate_choices(ui) -> None:
    """Fill the INRG combo boxes with the core's valid values (plus 'unknown'), once."""
    from nbrisk.staging import inrg

    if ui.histologyComboBox.count:
        return
    for name, constant in INRG_COMBOS:
        combo = getattr(ui, name)
        combo.addItems([UNKNOWN, *getattr(inrg, constant)])
    ui.metastasisComboBox.addItems([UNKNOWN, NO_METASTASES, *inrg.METASTATIC_SITES])


def staging_result(ui, checklist) -> dict:
    """The panel's INRGSS stage and INRG risk group as ``nbrisk inrg --json`` writes them (for the DICOM SR)."""
    stage, group = _stage_and_group(ui, checklist)
    return {"stage": stage.to_dict(), "risk": group.to_dict()}


def stage_and_group(ui, checklist) -> tuple[str, str]:
    """Call ``inrgss_stage`` and ``risk_group`` with the panel's inputs; return the two display texts."""
    stage, group = _stage_and_group(ui, checklist)
    stage_text = f"{stage.stage}: {stage.rule}"
    if stage.missing:
        stage_text += f" (missing: {', '.join(stage.missing)})"
    letter = f"{group.group} - " if group.group else ""
    group_text = f"{letter}{group.risk_group}: {group.rule}"
    if group.missing:
        group_text += f" (missing: {', '.join(group.missing)})"
    return stage_text, group_text


def _stage_and_group(ui, checklist):
    from nbrisk.staging import inrg

    populate_choices(ui)
    age = float(ui.ageMonthsSpinBox.value)
    site = _current_text(ui.metastasisComboBox)
    metastases = None if site == UNKNOWN else inrg.Metastases(site != NO_METASTASES,
                                                              () if site == NO_METASTASES else (site,))
    stage = inrg.inrgss_stage(checklist, metastases, age)
    values = {name: _current_text(getattr(ui, name)) for name, _ in INRG_COMBOS}
    known = {k: (None if v == UNKNOWN else v) for k, v in values.items()}
    group = inrg.risk_group(None if stage.stage == inrg.UNCLASSIFIABLE else stage.stage, age,
                            histology=known["histologyComboBox"], grade=known["gradeComboBox"],
                            mycn=known["mycnComboBox"], aberration_11q=known["aberration11qComboBox"],
                            ploidy=known["ploidyComboBox"])
    return stage, group


class IdrfSection:
    """IDRF checklist and INRG handlers of the panel (mixed into ``NBRiskPanel``)."""

    def onSuggestHints(self) -> None:
        p = self._parameterNode
        with self._userAction("Could not compute IDRF hints"):
            self._setChecklist(self.logic.idrf_checklist(p.inputVolume, p.segmentation, p.tumourSegmentName,
                                                         self._checklist))
            self._status("Image-derived hints added to the checklist: confirm each item.")

    def onAcceptHints(self) -> None:
        from nbrisk.staging import idrf

        with self._userAction("Could not accept the suggestions"):
            if self._checklist is None:
                raise NBRiskError("No checklist yet: press 'Pre-fill from segmentation' first.")
            changed = idrf.accept_suggestions(self._checklist)
            self._setChecklist(self._checklist)
            self._status(f"Accepted {len(changed)} 'present' suggestion(s); review them in the table.")

    def _setChecklist(self, checklist) -> None:
        self._checklist = checklist
        fill_table(self.ui.idrfTableWidget, checklist, self._onIdrfStatusChanged)
        self.ui.idrfSummaryLabel.text = summary(checklist)
        if self._parameterNode is not None:
            self._parameterNode.checklistJson = json.dumps(checklist.to_dict())

    def _onIdrfStatusChanged(self, itemId: str, status: str) -> None:
        with self._userAction("Could not update the checklist"):
            set_status(self._checklist, itemId, status)
            self.ui.idrfSummaryLabel.text = summary(self._checklist)
            self._parameterNode.checklistJson = json.dumps(self._checklist.to_dict())

    def onComputeStaging(self) -> None:
        with self._userAction("Could not compute the INRG stage"):
            stage, group = stage_and_group(self.ui, self._checklist)
            self.ui.stageLabel.text = stage
            self.ui.riskGroupLabel.text = group

    def onSaveChecklist(self) -> None:
        with self._userAction("Could not save the checklist"):
            target = _path(self._parameterNode.checklistPath)
            if target is None or self._checklist is None:
                raise NBRiskError("Nothing to save: fill the checklist and choose a file name first.")
            self._checklist.save(target)
            self._status(f"Checklist saved to {target}")

    def onLoadChecklist(self) -> None:
        from nbrisk.staging import idrf

        with self._userAction("Could not load the checklist"):
            source = _path(self._parameterNode.checklistPath)
            if source is None:
                raise NBRiskError("Choose a checklist file (JSON) first.")
            self._setChecklist(idrf.Checklist.load(source))
