"""Metrics beyond accuracy, kept in a component of their own (as a second Orquestra import)."""
from .f1 import calculate_f1_score

__all__ = ["calculate_f1_score"]
