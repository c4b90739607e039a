"""docs/schema.md carries the diagram of the schema as it is, drawn by tools/erd.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

# tools/ is a folder of scripts at the top of the checkout, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import erd

Conn = psycopg.Connection[Any]


def test_the_committed_diagram_is_the_schemas(db_conn: Conn) -> None:
    document = erd.DOC.read_text(encoding="utf-8")
    assert erd.splice(document, erd.render(db_conn)) == document, (
        f"docs/schema.md is stale: regenerate it with `{erd.COMMAND}`"
    )


def test_the_diagram_has_every_table_and_a_line_per_foreign_key(db_conn: Conn) -> None:
    diagram = erd.render(db_conn)
    tables = {line.split()[0] for line in diagram.splitlines() if line.endswith(" {")}
    relationships = [line for line in diagram.splitlines() if "--" in line]
    foreign_keys = db_conn.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    ).fetchone()
    assert diagram.startswith("erDiagram\n")
    assert "users" in tables
    assert len(tables) >= 28
    assert not any(table.startswith(("_yoyo", "yoyo")) for table in tables)
    assert foreign_keys is not None
    assert len(relationships) == foreign_keys[0]


def test_cardinality_follows_nullability_and_uniqueness(db_conn: Conn) -> None:
    lines = set(erd.render(db_conn).splitlines())
    # one streak row per user (unique FK), many login days (FK part of a wider key)
    assert '    users ||--o| user_streaks : "user_clerk_id"' in lines
    assert '    users ||--o{ login_days : "user_clerk_id"' in lines
    # a course may have lost its author (nullable FK)
    assert '    users |o--o{ courses : "author_clerk_id"' in lines
    assert "        uuid id PK" in lines
    assert '        text email UK "nullable"' in lines
    assert '        numeric ease_factor "numeric(4,2)"' in lines


def test_the_diagram_is_the_same_every_time(db_conn: Conn) -> None:
    assert erd.render(db_conn) == erd.render(db_conn)


def test_splice_replaces_only_what_is_between_the_markers() -> None:
    document = f"# Title\n\n{erd.BEGIN}\nold\n{erd.END}\n\nafter\n"
    assert erd.splice(document, "erDiagram\n") == (
        f"# Title\n\n{erd.BEGIN}\n```mermaid\nerDiagram\n```\n{erd.END}\n\nafter\n"
    )
    with pytest.raises(ValueError, match="markers"):
        erd.splice("# no markers\n", "erDiagram\n")


def test_main_writes_the_diagram_and_check_reports_a_stale_file(
    learnstore_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "schema.md"
    page.write_text(f"intro\n{erd.BEGIN}\n{erd.END}\n", encoding="utf-8")

    assert erd.main([learnstore_dsn, "--output", str(page), "--check"]) == 1
    assert "python tools/erd.py" in capsys.readouterr().err
    assert erd.main([learnstore_dsn, "--output", str(page)]) == 0
    assert "erDiagram" in page.read_text(encoding="utf-8")
    assert erd.main([learnstore_dsn, "--output", str(page), "--check"]) == 0


def test_main_needs_a_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(erd.DSN_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        erd.main([])
    assert exited.value.code == 2
