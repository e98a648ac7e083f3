"""IBSI-compliant extraction mode (IBSI-1 image processing and features), beside the pyradiomics-equal mode."""
