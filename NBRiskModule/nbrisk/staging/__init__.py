"""IDRF checklist, INRGSS stage, INRG pretreatment risk group and image hints."""
