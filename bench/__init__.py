"""bench package (see its model.py)."""
