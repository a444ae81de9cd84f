"""Layer 3: one module per command (group); they parse, confirm and render."""
