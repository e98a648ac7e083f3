"""Reader studies: blinded export/import, agreement (Dice, HD95), ICC and perturbations."""
