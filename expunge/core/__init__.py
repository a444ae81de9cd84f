"""Layer 0: errors, canonical and strict JSON, atomic writes, progress, configuration."""
