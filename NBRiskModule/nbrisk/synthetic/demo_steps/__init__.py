"""Steps of ``nbrisk demo`` (``sNN_name.py``, run in name order; see :mod:`nbrisk.synthetic.demo`)."""
