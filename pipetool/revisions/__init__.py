"""Layer 4: the project at git revisions: metrics, params, plots, tables, history, top-level
definitions, temporary worktrees.
"""
