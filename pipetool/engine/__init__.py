"""Layer 5: what commands do, on one Workspace: repro, status, checkout, gc, verify, stage add,
import-dvc; the Reporter protocol they report through.
"""
