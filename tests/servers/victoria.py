"""pytest fixtures for a real victoria server on 127.0.0.1 (registered in tests/conftest.py)."""
