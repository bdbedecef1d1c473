"""Experiments: runs of the pipeline with some params changed, each saved as a git commit on its
own ref (`refs/exps/<baseline>/<name>`) without moving HEAD or the branch.

overrides (-S parsing, grids, writing params files), snapshot (commits through a temporary
index), refs (names, listing, finding, removing), run (one experiment in one workspace), launch
(the points of a grid named, then run apart or queued), grid (many, in temporary worktrees sharing
the cache), payload and worker (each of a grid's experiments in its own process, given its options
as data), queue (run later), table (exp show), diff (exp diff), keep (apply, branch), report (what
they show).

The library takes data (ReproOptions, overrides, names, a reporter) and returns data (experiments,
outcomes, rows); it never prints and never builds command lines. cli/cmd_exp.py parses and prints.
"""
