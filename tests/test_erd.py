"""docs/schema.md shows one drawing per domain of the schema as it is, drawn by tools/erd.py."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

# tools/ is a folder of scripts at the top of the checkout, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import erd

Conn = psycopg.Connection[Any]


def test_the_committed_drawings_are_the_schemas(db_conn: Conn) -> None:
    assert erd.stale(db_conn) == [], f"regenerate the drawings with `{erd.COMMAND}`"


def test_every_table_is_in_exactly_one_domain_and_every_key_is_drawn(db_conn: Conn) -> None:
    tables, relationships = erd.read_catalog(db_conn)
    domains = erd.domains()
    homes = [table for domain in domains for table in domain.tables]
    assert sorted(homes) == sorted(tables)  # each table once; none of yoyo's
    assert len(tables) >= 28
    sources = erd.sources(db_conn)
    for rel in relationships:
        [home] = [domain for domain in domains if rel.child in domain.tables]
        assert f"    {rel.child}:{rel.columns[0]} -> {rel.parent}:{rel.parent_columns[0]} [" in sources[home]
    foreign_keys = db_conn.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        " AND conparentid = 0"  # a partition's copy of its parent's foreign key is drawn as the parent's
    ).fetchone()
    assert foreign_keys is not None and len(relationships) == foreign_keys[0]


def test_cardinality_follows_nullability_and_uniqueness(db_conn: Conn) -> None:
    users = next(source for domain, source in erd.sources(db_conn).items() if domain.name == "users")
    content = next(source for domain, source in erd.sources(db_conn).items() if domain.name == "content")
    # one streak row per user (a unique key): at most one child; many login days
    assert "user_streaks:user_clerk_id -> users:clerk_id [arrowtail=teeodot, arrowhead=teetee" in users
    assert "login_days:user_clerk_id -> users:clerk_id [arrowtail=crowodot, arrowhead=teetee" in users
    # a course may have lost its author (a nullable key); users is another domain's, drawn grey
    assert "courses:author_clerk_id -> users:clerk_id [arrowtail=crowodot, arrowhead=teeodot" in content
    assert '    users [label=<<TABLE BORDER="0" CELLBORDER="1"' in content
    assert '<TD BGCOLOR="#9e9e9e"><FONT COLOR="white"><B>users</B>' in content
    assert "<B>id  uuid  PK</B>" in users and "email  text?  UK" in users


def test_the_sources_are_the_same_every_time(db_conn: Conn) -> None:
    assert erd.sources(db_conn) == erd.sources(db_conn)


def test_a_changed_table_makes_its_drawing_stale(db_conn: Conn, tmp_path: Path) -> None:
    drawings = tmp_path / "erd"
    shutil.copytree(erd.DRAWINGS, drawings)
    page = tmp_path / "schema.md"
    page.write_text(erd.DOC.read_text(encoding="utf-8"), encoding="utf-8")
    assert erd.stale(db_conn, page, drawings) == []

    db_conn.execute("ALTER TABLE tags ADD COLUMN colour text")  # rolled back after the test
    (drawings / "retired.svg").write_text("<svg/>", encoding="utf-8")
    page.write_text(page.read_text(encoding="utf-8").replace("### users", "### people"), encoding="utf-8")

    assert erd.stale(db_conn, page, drawings) == [
        f"{drawings / 'catalog.svg'} is stale",
        "retired.svg draws no domain",
        "schema.md's list of drawings is stale",
    ]


@pytest.mark.skipif(shutil.which("dot") is None, reason="drawing needs Graphviz (apt-get install graphviz)")
def test_write_redraws_what_is_stale_and_the_check_passes_after(
    learnstore_dsn: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drawings = tmp_path / "erd"
    page = tmp_path / "schema.md"
    page.write_text(f"intro\n{erd.BEGIN}\n{erd.END}\n", encoding="utf-8")
    args = [learnstore_dsn, "--output", str(page), "--drawings", str(drawings)]

    assert erd.main([*args, "--check"]) == 1
    assert "python tools/erd.py" in capsys.readouterr().err
    assert erd.main(args) == 0
    users = (drawings / "users.svg").read_text(encoding="utf-8")
    assert (
        users.startswith("<?xml") and "<!-- erd-source sha256:" in users and "graphviz version" not in users
    )
    assert "assets/erd/users.svg" in page.read_text(encoding="utf-8")
    assert erd.main([*args, "--check"]) == 0


def test_splice_replaces_only_what_is_between_the_markers() -> None:
    document = f"# Title\n\n{erd.BEGIN}\nold\n{erd.END}\n\nafter\n"
    assert erd.splice(document, f"{erd.BEGIN}\nnew\n") == f"# Title\n\n{erd.BEGIN}\nnew\n{erd.END}\n\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        erd.splice("# no markers\n", "x")


def test_main_needs_a_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(erd.DSN_ENV, raising=False)
    with pytest.raises(SystemExit) as exited:
        erd.main([])
    assert exited.value.code == 2
