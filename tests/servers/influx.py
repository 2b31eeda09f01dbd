"""pytest fixtures for a real influx server on 127.0.0.1 (registered in tests/conftest.py)."""
