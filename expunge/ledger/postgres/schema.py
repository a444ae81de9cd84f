"""The shared ledger's schema in PostgreSQL, its roles, and the one way entries go in.

Everything lives in the schema ``expunge`` of one database:

- ``meta`` (key, value): the format name, schema version and the ledger id;
- ``entries`` (seq, record, prev_hash, hash): the chain, the record as ``text`` holding
  exactly the canonical bytes that were hashed (``jsonb`` would re-serialize them);
- ``places`` (seq, doc_id, place): the paths and media each entry names, derived from the
  record by the append function, indexed so that finding what a destruction touches is an
  index lookup, not a scan of the chain.

Entries go in only through ``expunge.append_entry(seq, record, prev_hash, hash)``, a
``SECURITY DEFINER`` function that takes the ledger's advisory lock, refuses an entry that
does not follow the current head (seq and prev_hash), and fills ``places``. Triggers
refuse UPDATE, DELETE and TRUNCATE of every table, for the owner too: history is changed
by no role through SQL short of dropping the triggers, which an audit of the chain then
still finds. Two NOLOGIN roles are granted to login roles by the administrator:
``expunge_station`` (read, and execute the append function) and ``expunge_auditor``
(read only). Neither has INSERT, UPDATE, DELETE or TRUNCATE on any table.
"""

from __future__ import annotations

FORMAT = "expunge-ledger"
VERSION = 1
SCHEMA = "expunge"
STATION_ROLE = "expunge_station"
AUDITOR_ROLE = "expunge_auditor"
# pg_advisory_xact_lock key of the append lock ("EXLG"); advisory locks are per database.
APPEND_LOCK = 0x45584C47
# SQLSTATEs raised by the functions below (class "EX", not used by PostgreSQL).
NOT_THE_HEAD = "EX001"
APPEND_ONLY = "EX002"

# The document id of an entry, as indexed; queries must spell it the same way.
DOC_ID = "((record::jsonb -> 'event' ->> 'doc_id') COLLATE \"C\")"

_ROLES = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{STATION_ROLE}') THEN
        CREATE ROLE {STATION_ROLE} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{AUDITOR_ROLE}') THEN
        CREATE ROLE {AUDITOR_ROLE} NOLOGIN;
    END IF;
END
$$
"""

_TABLES = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        record text NOT NULL,
        prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
        hash bytea NOT NULL CHECK (length(hash) = 32))""",
    f"CREATE INDEX IF NOT EXISTS entries_doc_id ON {SCHEMA}.entries ({DOC_ID})",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.places (
        seq bigint NOT NULL REFERENCES {SCHEMA}.entries (seq),
        doc_id text NOT NULL,
        place text COLLATE "C" NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS places_place ON {SCHEMA}.places (place)",
)

_APPEND = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.append_entry(
    p_seq bigint, p_record text, p_prev_hash bytea, p_hash bytea
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
    ev jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock({APPEND_LOCK});
    SELECT seq, hash INTO head_seq, head_hash FROM {SCHEMA}.entries
        ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := '\\x' || repeat('00', 32);
    END IF;
    IF p_seq IS DISTINCT FROM head_seq + 1 OR p_prev_hash IS DISTINCT FROM head_hash THEN
        RAISE EXCEPTION 'entry % does not follow the head of the ledger (seq %)',
            p_seq, head_seq USING ERRCODE = '{NOT_THE_HEAD}';
    END IF;
    ev := p_record::jsonb -> 'event';
    INSERT INTO {SCHEMA}.entries (seq, record, prev_hash, hash)
        VALUES (p_seq, p_record, p_prev_hash, p_hash);
    IF ev ->> 'doc_id' IS NOT NULL THEN
        INSERT INTO {SCHEMA}.places (seq, doc_id, place)
        SELECT p_seq, ev ->> 'doc_id', place FROM (
            SELECT ev ->> 'path' UNION ALL SELECT ev ->> 'to_path'
            UNION ALL SELECT ev ->> 'to_medium' UNION ALL SELECT ev ->> 'sealed_path'
            UNION ALL SELECT jsonb_array_elements_text(
                CASE jsonb_typeof(ev -> 'paths') WHEN 'array' THEN ev -> 'paths'
                ELSE '[]' END)
            UNION ALL SELECT jsonb_array_elements_text(
                CASE jsonb_typeof(ev -> 'media') WHEN 'array' THEN ev -> 'media'
                ELSE '[]' END)
        ) AS named (place) WHERE place IS NOT NULL;
    END IF;
END
$$
"""

_REFUSE = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the expunge ledger is append-only: % of %.% refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = '{APPEND_ONLY}';
END
$$
"""

TABLES = ("meta", "entries", "places")


def _triggers() -> tuple[str, ...]:
    statements = []
    for table in TABLES:
        statements += [
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
            f"ON {SCHEMA}.{table} FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.refuse_change()",
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
            f"ON {SCHEMA}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change()",
        ]
    return tuple(statements)


def _grants() -> tuple[str, ...]:
    tables = ", ".join(f"{SCHEMA}.{t}" for t in TABLES)
    function = f"{SCHEMA}.append_entry(bigint, text, bytea, bytea)"
    return (
        f"REVOKE ALL ON {tables} FROM PUBLIC, {STATION_ROLE}, {AUDITOR_ROLE}",
        f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC",
        f"REVOKE ALL ON FUNCTION {SCHEMA}.refuse_change() FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {STATION_ROLE}, {AUDITOR_ROLE}",
        f"GRANT SELECT ON {tables} TO {STATION_ROLE}, {AUDITOR_ROLE}",
        f"GRANT EXECUTE ON FUNCTION {function} TO {STATION_ROLE}",
    )


def setup_statements() -> tuple[str, ...]:
    """Every statement of the setup, in order; each can run again on a set-up database."""
    return (_ROLES, *_TABLES, _APPEND, _REFUSE, *_triggers(), *_grants())


# What an opened store checks is in place (integrity_check): name -> query returning a
# count that must be at least 1.
PROTECTIONS = {
    "the append function": (
        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE n.nspname = '{SCHEMA}' AND p.proname = 'append_entry' AND p.prosecdef"
    ),
    **{
        f"the trigger refusing changes to {table}": (
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = '{SCHEMA}' AND c.relname = '{table}' "
            f"AND t.tgname = '{table}_append_only' AND t.tgenabled <> 'D'"
        )
        for table in TABLES
    },
}
