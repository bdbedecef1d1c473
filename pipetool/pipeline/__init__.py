"""Layer 1: what the user declared: pipeline files, stages, params, interpolation, settings, the project root."""
