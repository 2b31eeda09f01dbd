"""dashboards package (see its model.py)."""
