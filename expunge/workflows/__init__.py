"""Layer 2: the workflows tying overwriting, verification, certificates and ledger."""
