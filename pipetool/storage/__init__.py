"""Layer 2: content hashes and the state db, the cache, the run-cache, pipeline.lock and its
journal, .gitignore entries, stage logs.
"""
