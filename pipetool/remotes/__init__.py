"""Layer 4: remote storage and the transfers between it and the cache."""
