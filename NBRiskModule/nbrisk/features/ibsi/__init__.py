"""IBSI-compliant extraction mode (IBSI-1 processing and features, IBSI-2 filters)."""
