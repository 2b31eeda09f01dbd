"""alarms package (see its model.py)."""
