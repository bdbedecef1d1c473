"""Experiments: runs of the pipeline with some params changed, each saved as a git commit on its
own ref (`refs/exps/<baseline>/<name>`) without moving HEAD or the branch.

overrides (-S parsing, grids, writing params files), snapshot (commits through a temporary
index), refs (names, listing, finding), run (one experiment in one workspace), grid (many, in
temporary worktrees sharing the cache), queue (run later), table (exp show), keep (apply, branch).
"""
