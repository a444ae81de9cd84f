"""The shared fleet ledger on PostgreSQL (``expunge[postgres]``, psycopg 3): the schema
and its roles (``schema``, ``setup``), connections (``connection``) and the store
(``store``). ``urls`` needs no driver; the other modules import psycopg.

Only the ledger lives here. The sealed-document key store stays local to each station:
PostgreSQL keeps deleted values in its write-ahead log and backups, so a key "destroyed"
in it would not be gone.
"""
