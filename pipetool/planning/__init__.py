"""Layer 3: the decisions: the stage graph, the one staleness decision and the facts it is made on,
the plan, targets, timings, the compiled pipeline.
"""
