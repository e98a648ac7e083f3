"""Model bundles: the file format, the model card and the safety checks on loading."""
