"""sla package (see its model.py)."""
