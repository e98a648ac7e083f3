"""IDRF section of the panel: checklist rows into a table, INRG inputs from combo boxes into core calls.

Rows, statuses and valid values all come from ``nbrisk.idrf`` / ``nbrisk.inrg``; this module only copies them
onto widgets and back (no IDRF or staging rule lives here).
"""

from __future__ import annotations

import qt

COLUMNS = ["Status", "Item", "Image hint", "Region"]
STATUS_COLUMN = 0
INRG_COMBOS = (("histologyComboBox", "HISTOLOGY"), ("gradeComboBox", "GRADES"), ("mycnComboBox", "MYCN"),
               ("aberration11qComboBox", "ABERRATION_11Q"), ("ploidyComboBox", "PLOIDY"))
UNKNOWN = "unknown"
NO_METASTASES = "none"


def _current_text(combo) -> str:
    attr = combo.currentText
    return str(attr() if callable(attr) else attr)


def fill_table(table, checklist, on_status_changed) -> None:
    """Show ``nbrisk.idrf.checklist_view`` rows; each status is a combo box that reports changes."""
    from nbrisk import idrf

    rows = idrf.checklist_view(checklist)
    table.clear()
    table.setColumnCount(len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.setRowCount(len(rows))
    for index, row in enumerate(rows):
        item = qt.QTableWidgetItem(row.text)
        item.setToolTip(f"{row.id}" + (f" - note: {row.note}" if row.note else ""))
        table.setItem(index, 1, item)
        table.setItem(index, 3, qt.QTableWidgetItem(row.region))
        combo = qt.QComboBox()
        combo.addItems(list(idrf.STATUSES))
        combo.setCurrentIndex(list(idrf.STATUSES).index(row.status))
        combo.setObjectName(f"idrfStatus_{row.id}")
        combo.currentTextChanged.connect(lambda text, item_id=row.id: on_status_changed(item_id, text))
        table.setCellWidget(index, STATUS_COLUMN, combo)
        hint = f"[{row.suggestion}] {row.hint}" if row.hint else ""
        table.setItem(index, 2, qt.QTableWidgetItem(hint))
    table.resizeColumnsToContents()


def set_status(checklist, item_id: str, status: str) -> None:
    checklist.set(item_id, status)


def summary(checklist) -> str:
    from nbrisk import inrg

    open_ids = checklist.open_idrfs()
    surgical = inrg.surgical_risk_seed001(checklist)
    label = {True: "at risk", False: "not at risk", None: "undetermined"}[surgical.label]
    return (f"{checklist.positive_count} IDRF(s) present, {len(open_ids)} not yet answered; "
            f"{len(checklist.hints)} image hint(s). Seed-001 surgical risk: {label}")


def populate_choices(ui) -> None:
    """Fill the INRG combo boxes with the core's valid values (plus 'unknown'), once."""
    from nbrisk import inrg

    if ui.histologyComboBox.count():
        return
    for name, constant in INRG_COMBOS:
        combo = getattr(ui, name)
        combo.addItems([UNKNOWN, *getattr(inrg, constant)])
    ui.metastasisComboBox.addItems([UNKNOWN, NO_METASTASES, *inrg.METASTATIC_SITES])


def stage_and_group(ui, checklist) -> tuple[str, str]:
    """Call ``inrgss_stage`` and ``risk_group`` with the panel's inputs; return the two display texts."""
    from nbrisk import inrg

    populate_choices(ui)
    age_attr = ui.ageMonthsSpinBox.value
    age = float(age_attr() if callable(age_attr) else age_attr)
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
    stage_text = f"{stage.stage}: {stage.rule}"
    if stage.missing:
        stage_text += f" (missing: {', '.join(stage.missing)})"
    letter = f"{group.group} - " if group.group else ""
    group_text = f"{letter}{group.risk_group}: {group.rule}"
    if group.missing:
        group_text += f" (missing: {', '.join(group.missing)})"
    return stage_text, group_text
