"""`learnstore migrate --plan`: each pending statement with the lock it takes and whether it rewrites
or scans the table, from PostgreSQL's documented lock levels (the docs' "Explicit Locking" and ALTER TABLE
pages)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from learnstore import migrate

__all__ = ["PlannedStatement", "classify", "plan"]

# What each lock blocks, for the reader of a plan.
BLOCKS = {
    "ACCESS EXCLUSIVE": "reads and writes",
    "EXCLUSIVE": "writes (reads go on)",
    "SHARE ROW EXCLUSIVE": "writes (reads go on)",
    "SHARE": "writes (reads go on)",
    "SHARE UPDATE EXCLUSIVE": "nothing but other schema changes and VACUUM",
    "ROW EXCLUSIVE": "nothing but schema changes, on the rows it touches",
    "ROW SHARE": "nothing but schema changes",
    "ACCESS SHARE": "only ACCESS EXCLUSIVE",
    "none": "nothing",
}


@dataclass(frozen=True, slots=True)
class PlannedStatement:
    """One statement of a pending migration and what it does to a live table."""

    migration: str
    statement: str
    #: the strongest table lock it takes (PostgreSQL's name, e.g. "ACCESS EXCLUSIVE"), or "none"
    lock: str
    #: the table it locks, when it is one table
    table: str | None
    #: what that lock keeps waiting while it is held
    blocks: str
    #: whether it rewrites the whole table (and its indexes) while holding the lock
    rewrites: bool
    #: whether it reads the whole table while holding the lock
    scans: bool
    #: why, in a few words
    note: str


_IDENT = r"(?:\"[^\"]+\"|[\w$.]+)"
_F = re.IGNORECASE | re.DOTALL

# (pattern, lock, rewrites, scans, note), first match wins; the table is the pattern's group "t".
# A rule with lock None is decided by _alter_table.
_RULES: list[tuple[re.Pattern[str], str | None, bool, bool, str]] = [
    (
        re.compile(
            rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b.*?\bON\s+(?:ONLY\s+)?(?P<t>{_IDENT})", _F
        ),
        "SHARE UPDATE EXCLUSIVE",
        False,
        True,
        "builds the index while writes go on (two scans)",
    ),
    (
        re.compile(rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\b.*?\bON\s+(?:ONLY\s+)?(?P<t>{_IDENT})", _F),
        "SHARE",
        False,
        True,
        "blocks writes for the whole build: use CONCURRENTLY",
    ),
    (
        re.compile(r"^DROP\s+INDEX\s+CONCURRENTLY\b", _F),
        "SHARE UPDATE EXCLUSIVE",
        False,
        False,
        "waits for queries using the index, blocks no writes",
    ),
    (
        re.compile(r"^DROP\s+INDEX\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "on the index's table: use CONCURRENTLY",
    ),
    (
        re.compile(r"^REINDEX\s+(?:\(.*?\)\s*)?(?:INDEX|TABLE)\s+CONCURRENTLY\b", _F),
        "SHARE UPDATE EXCLUSIVE",
        False,
        True,
        "rebuilds while writes go on",
    ),
    (
        re.compile(rf"^REINDEX\s+(?:\(.*?\)\s*)?(?:INDEX|TABLE)\s+(?P<t>{_IDENT})", _F),
        "ACCESS EXCLUSIVE",
        True,
        True,
        "use REINDEX ... CONCURRENTLY",
    ),
    (
        re.compile(rf"^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<t>{_IDENT})", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "a new table: nobody else uses it yet",
    ),
    (
        re.compile(rf"^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<t>{_IDENT})", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "the table and its data are gone",
    ),
    (
        re.compile(rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<t>{_IDENT})", _F),
        None,
        False,
        False,
        "",
    ),
    (
        re.compile(
            rf"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\b.*?\bON\s+(?P<t>{_IDENT})", _F
        ),
        "SHARE ROW EXCLUSIVE",
        False,
        False,
        "blocks writes briefly",
    ),
    (re.compile(rf"^DROP\s+TRIGGER\b.*?\bON\s+(?P<t>{_IDENT})", _F), "ACCESS EXCLUSIVE", False, False, ""),
    (
        re.compile(rf"^(?:CREATE|ALTER|DROP)\s+POLICY\b.*?\bON\s+(?P<t>{_IDENT})", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "brief",
    ),
    (
        re.compile(rf"^(?:UPDATE|DELETE\s+FROM)\s+(?:ONLY\s+)?(?P<t>{_IDENT})", _F),
        "ROW EXCLUSIVE",
        False,
        True,
        "locks every row it changes until commit: batch a large one",
    ),
    (re.compile(rf"^INSERT\s+INTO\s+(?P<t>{_IDENT})", _F), "ROW EXCLUSIVE", False, False, "new rows"),
    (
        re.compile(rf"^LOCK\s+(?:TABLE\s+)?(?P<t>{_IDENT})(?:\s+IN\s+(?P<mode>[\w\s]+?)\s+MODE)?", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "an explicit lock",
    ),
    (re.compile(rf"^TRUNCATE\s+(?:TABLE\s+)?(?P<t>{_IDENT})", _F), "ACCESS EXCLUSIVE", True, False, ""),
    (re.compile(rf"^VACUUM\s+FULL\b\s*(?P<t>{_IDENT})?", _F), "ACCESS EXCLUSIVE", True, True, ""),
    (
        re.compile(rf"^COMMENT\s+ON\s+(?:TABLE|COLUMN)\s+(?P<t>{_IDENT})", _F),
        "SHARE UPDATE EXCLUSIVE",
        False,
        False,
        "",
    ),
    (
        re.compile(
            r"^(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|TYPE|DOMAIN|SCHEMA|"
            r"EXTENSION|ROLE|SEQUENCE|VIEW|AGGREGATE)\b|^(?:GRANT|REVOKE|SET|RESET|SELECT|DO)\b",
            _F,
        ),
        "none",
        False,
        False,
        "takes no lock that blocks a table's readers or writers",
    ),
]

# ALTER TABLE subcommands, from the ALTER TABLE page's per-form lock levels.
_ALTER: list[tuple[re.Pattern[str], str, bool, bool, str]] = [
    (
        re.compile(r"\bVALIDATE\s+CONSTRAINT\b", _F),
        "SHARE UPDATE EXCLUSIVE",
        False,
        True,
        "scans while reads and writes go on",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b.*\bNOT\s+VALID\b", _F),
        "SHARE ROW EXCLUSIVE",
        False,
        False,
        "no scan; VALIDATE later (on both tables)",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b", _F),
        "SHARE ROW EXCLUSIVE",
        False,
        True,
        "scans under a lock that blocks writes (both tables): add NOT VALID, then VALIDATE",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?CHECK\b.*\bNOT\s+VALID\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "brief, no scan; VALIDATE later",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?CHECK\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        True,
        "scans under ACCESS EXCLUSIVE: add NOT VALID, then VALIDATE",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:UNIQUE|PRIMARY\s+KEY)\s+USING\s+INDEX\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "brief: the index was built before",
    ),
    (
        re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:UNIQUE|PRIMARY\s+KEY|EXCLUDE)\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        True,
        "builds an index under ACCESS EXCLUSIVE: CREATE UNIQUE INDEX CONCURRENTLY, then USING INDEX",
    ),
    (
        re.compile(r"\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b", _F),
        "ACCESS EXCLUSIVE",
        True,
        True,
        "rewrites the table (unless the new type is binary-compatible)",
    ),
    (
        re.compile(r"\bALTER\s+(?:COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b", _F),
        "ACCESS EXCLUSIVE",
        False,
        True,
        "scans under ACCESS EXCLUSIVE (none if a valid CHECK (col IS NOT NULL) exists)",
    ),
    (
        re.compile(
            r"\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\S+\s+.*?\bDEFAULT\s+(?P<default>.+)", _F
        ),
        "ACCESS EXCLUSIVE",
        False,
        False,
        "",
    ),
    (re.compile(r"\bADD\s+(?:COLUMN\s+)?", _F), "ACCESS EXCLUSIVE", False, False, "brief: catalog only"),
    (
        re.compile(r"\bSET\s*\(|\bRESET\s*\(|\bSET\s+STATISTICS\b|\bCLUSTER\s+ON\b", _F),
        "SHARE UPDATE EXCLUSIVE",
        False,
        False,
        "",
    ),
    (re.compile(r"\b(?:ENABLE|DISABLE)\s+TRIGGER\b", _F), "SHARE ROW EXCLUSIVE", False, False, ""),
    (
        re.compile(r"\bSET\s+(?:LOGGED|UNLOGGED|TABLESPACE|WITHOUT\s+OIDS)\b", _F),
        "ACCESS EXCLUSIVE",
        True,
        True,
        "rewrites the table",
    ),
]

# A default PostgreSQL must evaluate per row (so ADD COLUMN rewrites the table): a volatile function.
_VOLATILE = re.compile(
    r"\b(?:random|gen_random_uuid|uuidv7|uuid_generate_v[147]|clock_timestamp|nextval|timeofday)\s*\(",
    re.IGNORECASE,
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _alter_table(body: str) -> tuple[str, bool, bool, str]:
    for pattern, lock, rewrites, scans, note in _ALTER:
        match = pattern.search(body)
        if not match:
            continue
        if "default" in pattern.groupindex:
            if _VOLATILE.search(match.group("default")):
                return lock, True, True, "a volatile default rewrites the table: add, backfill, SET DEFAULT"
            return lock, False, False, "brief: a constant default is stored in the catalog"
        return lock, rewrites, scans, note
    return "ACCESS EXCLUSIVE", False, False, "brief"


def classify(statement: str) -> tuple[str, str | None, bool, bool, str]:
    """(lock, table, rewrites, scans, note) for one SQL statement. One PostgreSQL does not document
    here is assumed the strongest: ACCESS EXCLUSIVE."""
    text = " ".join(_COMMENTS.sub(" ", statement).split()).rstrip(";")
    for pattern, lock, rewrites, scans, note in _RULES:
        match = pattern.search(text)
        if not match:
            continue
        table = match.groupdict().get("t")
        if lock is None:
            alter_lock, rewrites, scans, note = _alter_table(text)
            return alter_lock, table, rewrites, scans, note
        if "mode" in pattern.groupindex and match.group("mode"):
            lock = " ".join(match.group("mode").upper().split())
        return lock, table, rewrites, scans, note
    return "ACCESS EXCLUSIVE", None, False, False, "not recognised: assumed the strongest lock"


def plan(dsn: str, *, migrations: Path | None = None) -> list[PlannedStatement]:
    """Every statement of every pending migration, in the order `upgrade` would run them. Reads only."""
    pending = migrate.pending(dsn, migrations=migrations)
    planned = []
    for migration in pending:
        for statement in migrate.statements(migration):
            lock, table, rewrites, scans, note = classify(statement)
            planned.append(
                PlannedStatement(
                    migration=migration.id,
                    statement=" ".join(_COMMENTS.sub(" ", statement).split()),
                    lock=lock,
                    table=table,
                    blocks=BLOCKS.get(lock, "reads and writes"),
                    rewrites=rewrites,
                    scans=scans,
                    note=note,
                )
            )
    return planned
