"""learnstore.scaling.DISTRIBUTION against the migrated catalog: every table classified for Citus,
each key a column the table has (or, marked added, one it does not have yet), and docs/scaling.md
naming every table with its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from learnstore.partitions import PARTITIONED
from learnstore.scaling import DISTRIBUTION

Conn = psycopg.Connection[Any]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"


def tables(conn: Conn) -> dict[str, set[str]]:
    """Our tables (not yoyo's, not partitions: a partition goes where its parent goes), with their columns."""
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(
        """
        SELECT c.relname, a.attname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND c.relname !~ '^(_yoyo_|yoyo_lock$)'
        """
    ):
        found.setdefault(table, set()).add(column)
    return found


def test_every_table_is_classified_and_no_classification_is_stale(db_conn: Conn) -> None:
    ours = tables(db_conn)
    assert sorted(set(ours) - set(DISTRIBUTION)) == [], "classify the new table in learnstore.scaling"
    assert sorted(set(DISTRIBUTION) - set(ours)) == [], "a classified table is gone"


def test_each_distribution_column_exists_unless_it_is_to_be_added(db_conn: Conn) -> None:
    ours = tables(db_conn)
    wrong = {}
    for table, where in DISTRIBUTION.items():
        if where.kind in ("user", "course"):
            if where.column is None or (where.column in ours[table]) == where.added:
                wrong[table] = where
        elif where.column is not None or where.added:
            wrong[table] = where
    assert wrong == {}


def test_user_keyed_tables_reference_users_by_their_key_and_the_partitioned_logs_are_user_keyed() -> None:
    assert {DISTRIBUTION[table].kind for table in PARTITIONED} == {"user"}
    assert DISTRIBUTION["users"].column == "clerk_id" and DISTRIBUTION["courses"].column == "id"


def test_docs_scaling_names_every_table_with_its_kind_and_key() -> None:
    text = DOCS.read_text()
    missing = []
    for table, where in DISTRIBUTION.items():
        row = f"| `{table}` | {where.kind} | {f'`{where.column}`' if where.column else '—'}"
        if row not in text:
            missing.append(row)
    assert missing == []
