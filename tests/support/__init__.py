"""Test support shared across apps, loaded as pytest plugins by the root conftest.py."""
