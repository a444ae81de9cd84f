"""The tamper-evident register of confidential documents (layer 1).

An append-only, hash-chained log of document events (``events``, ``entries``, ``chain``),
each entry naming and signed by the station that appended it (``signing``), kept in a
store (``store``; SQLite by default), from which document state is derived (``state``).
Classification levels say how strong a destruction must be (``classification``); sealed
documents' keys live in a separate key store (``keystore``).

The ledger knows nothing of certificates, wiping or drives: a ``destroy`` event carries a
certificate as opaque data, and entry and checkpoint signatures are made and checked by
signers and verifiers that layer 2 passes in.
"""
