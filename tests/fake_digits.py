"""Kept for ``from fake_digits import fake_digits``: the helper now lives in ``conftest.py``."""

from conftest import fake_digits

__all__ = ["fake_digits"]
