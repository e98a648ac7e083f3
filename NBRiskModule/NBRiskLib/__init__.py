"""NBRiskLib: the Slicer-side adapter of NBRisk (MRML nodes and Qt widgets <-> ``nbrisk`` core calls).

Only ``slicer_logic`` touches MRML data, only ``widget`` touches the panel's widgets; every computation is a
call into the ``nbrisk`` core (imported lazily, inside the methods that need it). Nothing here runs at import.
"""
