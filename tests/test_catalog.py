"""The catalog domain on a real database: languages, tags, and discovery of published courses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql as pgsql

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import AlreadyExists, InvalidValue, NotFound
from learnstore.queries._runtime import sync_queries
from learnstore.repositories.catalog_async import CourseCursor, CoursePage, CourseSummary, DiscoveryOrder

AConn = psycopg.AsyncConnection[Any]
BASE = datetime(2026, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


# -- rows made with plain SQL (the courses API is another domain's) ------------------------------


async def add_course(
    conn: AConn,
    title: str,
    description: str = "",
    *,
    status: str = "published",
    day: int = 0,
    difficulty: str = "beginner",
    language: str | None = None,
) -> UUID:
    published_at = BASE + timedelta(days=day) if status == "published" else None
    cur = await conn.execute(
        """
        INSERT INTO courses (title, description, status, published_at, difficulty, language_id)
        VALUES (%s, %s, %s, %s, %s, (SELECT id FROM languages WHERE code = %s))
        RETURNING id
        """,
        (title, description, status, published_at, difficulty, language),
    )
    row = await cur.fetchone()
    assert row is not None
    course_id: UUID = row[0]
    return course_id


async def rate(conn: AConn, course_id: UUID, *ratings: int) -> None:
    for i, rating in enumerate(ratings):
        await conn.execute("INSERT INTO users (clerk_id) VALUES (%s) ON CONFLICT DO NOTHING", (f"rater_{i}",))
        await conn.execute(
            "INSERT INTO course_feedback (course_id, user_clerk_id, rating) VALUES (%s, %s, %s)",
            (course_id, f"rater_{i}", rating),
        )


async def count(conn: AConn, table: str) -> int:
    cur = await conn.execute(f"SELECT count(*) FROM {table}")  # our own table names only
    row = await cur.fetchone()
    assert row is not None
    value: int = row[0]
    return value


# -- a small catalog with ties in publication time and in rating ----------------------------------


@dataclass
class Spec:
    title: str
    description: str
    difficulty: str
    language: str | None
    day: int
    tags: list[str]
    ratings: list[int] = field(default_factory=list)
    id: UUID = field(default_factory=uuid4)

    @property
    def published_at(self) -> datetime:
        return BASE + timedelta(days=self.day)

    @property
    def average(self) -> Decimal | None:
        if not self.ratings:
            return None
        mean = Decimal(sum(self.ratings)) / Decimal(len(self.ratings))
        return mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def score(self) -> Decimal:
        """The Bayesian score "best rated" sorts by: a prior of 10 ratings of 3 stars."""
        score = Decimal(30 + sum(self.ratings)) / Decimal(10 + len(self.ratings))
        return score.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


SPECS = {
    "pg": Spec("PostgreSQL for beginners", "Rows and SELECT.", "beginner", "en", 1, ["SQL", "PG"], [5, 4]),
    "window": Spec("Advanced window functions", "In PostgreSQL.", "advanced", "en", 2, ["sql"], [5, 5]),
    "python": Spec("Python basics", "Variables and loops.", "beginner", "en", 3, ["Python"], [4, 4]),
    "both": Spec("Python and SQL", "To PostgreSQL.", "intermediate", "pt-BR", 3, ["python", "SQL"], [4, 5]),
    "intro": Spec("Introdução ao SQL", "Consultas básicas.", "beginner", "pt-BR", 3, ["sql"]),
    "model": Spec("Data modeling", "Normal forms and keys.", "intermediate", None, 4, [], [3]),
    "rust": Spec("Rust for pythonistas", "Ownership explained.", "advanced", "en", 5, ["Rust", "Python"]),
}  # fmt: skip


@dataclass
class Catalog:
    specs: dict[str, Spec]
    draft: UUID
    archived: UUID

    def key(self, course_id: UUID) -> str:
        return next(key for key, spec in self.specs.items() if spec.id == course_id)

    def expected(self, keys: Iterator[str] | list[str], order: str) -> list[str]:
        def sort_key(key: str) -> tuple[Any, ...]:
            spec = self.specs[key]
            if order == "rating":
                return (spec.score, len(spec.ratings), spec.published_at, spec.id)
            return (spec.published_at, spec.id)

        return sorted(keys, key=sort_key, reverse=True)


@pytest.fixture
async def catalog(store: AsyncStore, adb_conn: AConn) -> Catalog:
    await store.catalog.create_language("en", "English")
    await store.catalog.create_language("pt-BR", "Portuguese (Brazil)")
    specs = {key: Spec(**{**vars(spec), "id": uuid4()}) for key, spec in SPECS.items()}
    for spec in specs.values():
        spec.id = await add_course(
            adb_conn,
            spec.title,
            spec.description,
            day=spec.day,
            difficulty=spec.difficulty,
            language=spec.language,
        )
        await store.catalog.attach_tags(spec.id, spec.tags)
        await rate(adb_conn, spec.id, *spec.ratings)
    # Unpublished courses that match every filter: they must never be discovered.
    draft = await add_course(adb_conn, "PostgreSQL and Python draft", "SQL", status="draft", language="en")
    archived = await add_course(
        adb_conn, "PostgreSQL and Python archived", "SQL", status="archived", language="en"
    )
    for hidden in (draft, archived):
        await store.catalog.attach_tags(hidden, ["SQL", "Python"])
        await rate(adb_conn, hidden, 5, 5, 5)
    return Catalog(specs, draft, archived)


def keys(catalog: Catalog, page: CoursePage) -> list[str]:
    return [catalog.key(item.id) for item in page.items]


# -- languages ---------------------------------------------------------------------------------------


async def test_languages_are_created_found_by_code_in_any_case_and_listed_by_name(store: AsyncStore) -> None:
    english = await store.catalog.create_language("en", "English")
    brazilian = await store.catalog.create_language("pt_br", " Portuguese (Brazil) ")
    chinese = await store.catalog.create_language("ZH-hant-tw", "Chinese (Traditional)")
    assert (brazilian.code, brazilian.name, chinese.code) == ("pt-BR", "Portuguese (Brazil)", "zh-Hant-TW")
    assert await store.catalog.get_language("PT-br") == brazilian
    assert [language.code for language in await store.catalog.list_languages()] == [
        "zh-Hant-TW",
        "en",
        "pt-BR",
    ]
    assert english.id != brazilian.id


async def test_a_duplicate_language_code_or_name_is_rejected_naming_the_rule(store: AsyncStore) -> None:
    await store.catalog.create_language("en", "English")
    before = await store.catalog.list_languages()
    with pytest.raises(AlreadyExists) as by_code:
        await store.catalog.create_language("EN", "Anglais")
    assert by_code.value.constraint == "languages_code_key"
    assert "code" in by_code.value.message
    with pytest.raises(AlreadyExists) as by_name:
        await store.catalog.create_language("en-GB", "ENGLISH")
    assert by_name.value.constraint == "languages_name_key"
    assert "name" in by_name.value.message
    assert await store.catalog.list_languages() == before


@pytest.mark.parametrize(
    ("code", "name", "field"),
    [
        ("english", "English", "code"),
        ("e", "English", "code"),
        ("en-", "English", "code"),
        ("en; DROP TABLE languages", "English", "code"),
        ("en-" + "a" * 40, "English", "code"),
        (42, "English", "code"),
        ("en", "   ", "name"),
        ("en", "x" * 101, "name"),
        ("en", "Eng\x00lish", "name"),
        ("en", "\rEnglish", "name"),  # a control character at an end is refused, not stripped
        ("en", None, "name"),
    ],
)
async def test_bad_language_values_are_invalid_and_nothing_is_stored(
    store: AsyncStore, adb_conn: AConn, code: Any, name: Any, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.catalog.create_language(code, name)
    assert field in str(caught.value)
    assert await count(adb_conn, "languages") == 0


async def test_an_unknown_language_is_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFound) as caught:
        await store.catalog.get_language("fr")
    assert caught.value.field == "code" and "fr" in caught.value.message
    assert await store.catalog.get_language_or_none("fr") is None


# -- tags ------------------------------------------------------------------------------------------


async def test_get_or_create_tag_is_idempotent_trimmed_and_case_insensitive(
    store: AsyncStore, adb_conn: AConn
) -> None:
    first = await store.catalog.get_or_create_tag("  Machine \t  Learning ")
    again = await store.catalog.get_or_create_tag("machine learning")
    shouting = await store.catalog.get_or_create_tag("MACHINE LEARNING")
    assert first.name == "Machine Learning"
    assert first == again == shouting
    assert await count(adb_conn, "tags") == 1


@pytest.mark.parametrize(
    "name",
    ["", "   ", "\t\n", "x" * 51, "tab\x00null", "bell\x07", 42, None, ["sql"]],
)
async def test_bad_tag_names_are_invalid_and_create_nothing(
    store: AsyncStore, adb_conn: AConn, name: Any
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.catalog.get_or_create_tag(name)
    assert caught.value.field == "name"
    assert await count(adb_conn, "tags") == 0


async def test_a_50_character_tag_is_the_longest_allowed(store: AsyncStore) -> None:
    tag = await store.catalog.get_or_create_tag("é" * 50)
    assert tag.name == "é" * 50


async def test_list_tags_by_name_and_by_literal_prefix(store: AsyncStore) -> None:
    for name in ("sql", "SQLite", "Postgres", "100%_done", "100 percent", "python"):
        await store.catalog.get_or_create_tag(name)
    assert [t.name for t in await store.catalog.list_tags()] == [
        "100 percent",
        "100%_done",
        "Postgres",
        "python",
        "sql",
        "SQLite",
    ]
    assert [t.name for t in await store.catalog.list_tags(prefix="SQ")] == ["sql", "SQLite"]
    assert [t.name for t in await store.catalog.list_tags(prefix="  100  p")] == ["100 percent"]
    # LIKE's metacharacters are plain characters in a prefix.
    assert [t.name for t in await store.catalog.list_tags(prefix="100%")] == ["100%_done"]
    assert await store.catalog.list_tags(prefix="%") == []
    assert [t.name for t in await store.catalog.list_tags(limit=2)] == ["100 percent", "100%_done"]
    with pytest.raises(InvalidValue, match="limit"):
        await store.catalog.list_tags(limit=0)


async def test_attaching_tags_creates_the_missing_ones_once_and_is_idempotent(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await add_course(adb_conn, "SQL 101")
    existing = await store.catalog.get_or_create_tag("PostgreSQL")
    tags = await store.catalog.attach_tags(course, ["postgresql", " Window  Functions", "SQL", "sql"])
    assert [t.name for t in tags] == ["PostgreSQL", "SQL", "Window Functions"]
    assert existing in tags
    again = await store.catalog.attach_tags(course, ["SQL", "POSTGRESQL"])
    assert again == tags
    assert await store.catalog.list_course_tags(course) == tags
    assert await count(adb_conn, "tags") == 3
    assert await count(adb_conn, "course_tags") == 3
    assert await store.catalog.attach_tags(course, []) == tags


async def test_detaching_tags_is_idempotent_and_keeps_the_tags(store: AsyncStore, adb_conn: AConn) -> None:
    course = await add_course(adb_conn, "SQL 101")
    await store.catalog.attach_tags(course, ["SQL", "Python", "Rust"])
    left = await store.catalog.detach_tags(course, ["python", "RUST", "never attached"])
    assert [t.name for t in left] == ["SQL"]
    assert [t.name for t in await store.catalog.detach_tags(course, ["python"])] == ["SQL"]
    assert [t.name for t in await store.catalog.list_course_tags(course)] == ["SQL"]
    assert await count(adb_conn, "tags") == 3


async def test_tag_operations_on_an_unknown_course_are_not_found_and_change_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    nobody = uuid4()
    for operation in (
        store.catalog.attach_tags(nobody, ["Brand new tag"]),
        store.catalog.attach_tags(nobody, []),
        store.catalog.detach_tags(nobody, ["sql"]),
        store.catalog.list_course_tags(nobody),
    ):
        with pytest.raises(NotFound) as caught:
            await operation
        assert caught.value.field == "course_id" and str(nobody) in caught.value.message
    assert await count(adb_conn, "tags") == 0


@pytest.mark.parametrize(
    ("course_id", "names", "field"),
    [
        ("not-a-uuid", ["sql"], "course_id"),
        (None, ["sql"], "course_id"),
        (uuid4(), "sql", "names"),
        (uuid4(), ["sql", "  "], "names.1"),
        (uuid4(), ["x" * 51], "names.0"),
        (uuid4(), ["ok"] * 101, "names"),
    ],
)
async def test_bad_attach_input_is_invalid_and_creates_nothing(
    store: AsyncStore, adb_conn: AConn, course_id: Any, names: Any, field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.catalog.attach_tags(course_id, names)
    assert caught.value.field == field
    assert await count(adb_conn, "tags") == 0


async def test_racing_attaches_of_the_same_new_tags_create_each_tag_once(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO courses (title) SELECT 'Course ' || g FROM generate_series(1, 8) g RETURNING id"
        )
        courses = [course for (course,) in rows]
    names = ["Rust", "Go", "Zig", "Elixir"]
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        attached = await asyncio.gather(
            *(
                store.catalog.attach_tags(course, [n.upper() if i % 2 else n for n in names])
                for i, course in enumerate(courses)
            )
        )
        created = await asyncio.gather(*(store.catalog.get_or_create_tag("Haskell") for _ in range(8)))
    assert all(sorted(t.name.lower() for t in tags) == ["elixir", "go", "rust", "zig"] for tags in attached)
    assert len({tag.id for tags in attached for tag in tags}) == 4
    assert len({tag.id for tag in created}) == 1
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM tags").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM course_tags").fetchone() == (32,)


# -- discovery: filters -------------------------------------------------------------------------


async def everything(store: AsyncStore, order: DiscoveryOrder = "newest", **filters: Any) -> CoursePage:
    page = await store.catalog.discover(order=order, limit=100, **filters)
    assert page.next_cursor is None
    return page


async def test_discovery_lists_published_courses_only_newest_first(
    store: AsyncStore, catalog: Catalog
) -> None:
    page = await everything(store)
    assert keys(catalog, page) == catalog.expected(list(catalog.specs), "newest")
    assert {catalog.draft, catalog.archived}.isdisjoint(item.id for item in page.items)


async def test_a_discovered_course_carries_its_language_rating_and_tags(
    store: AsyncStore, catalog: Catalog
) -> None:
    page = await everything(store, text="Python and SQL")
    both = next(item for item in page.items if item.id == catalog.specs["both"].id)
    assert both == CourseSummary(
        id=catalog.specs["both"].id,
        title="Python and SQL",
        description="To PostgreSQL.",
        difficulty="intermediate",
        language_code="pt-BR",
        published_at=BASE + timedelta(days=3),
        average_rating=Decimal("4.50"),
        rating_count=2,
        rating_score=Decimal("3.2500"),  # (10 * 3 + 4 + 5) / (10 + 2)
        relevance=both.relevance,
        tags=["Python", "SQL"],  # "Python" was created first, in that spelling
    )
    assert both.relevance > 0
    model = (await everything(store, difficulty="intermediate", language=None)).items
    unrated = next(item for item in (await everything(store)).items if item.id == catalog.specs["rust"].id)
    assert (unrated.average_rating, unrated.rating_count, unrated.relevance) == (None, 0, Decimal(0))
    assert unrated.rating_score == Decimal(3)  # the prior alone
    assert any(item.language_code is None for item in model)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tags": ["sql"]}, {"pg", "window", "both", "intro"}),
        ({"tags": ["PYTHON", "sql"]}, {"both"}),
        (
            {"tags": ["python", "sql"], "match_all_tags": False},
            {"pg", "window", "python", "both", "intro", "rust"},
        ),
        ({"tags": ["Python", "python"]}, {"python", "both", "rust"}),
        ({"tags": ["no such tag"]}, set()),
        ({"language": "pt-br"}, {"both", "intro"}),
        ({"language": "fr"}, set()),
        ({"difficulty": "advanced"}, {"window", "rust"}),
        ({"text": "postgresql"}, {"pg", "window", "both"}),
        ({"text": "PYTHON -rust"}, {"python", "both"}),
        ({"text": '"window functions"'}, {"window"}),
        ({"text": "consultas or ownership"}, {"intro", "rust"}),
        ({"text": "   "}, {"pg", "window", "python", "both", "intro", "model", "rust"}),
        ({"tags": ["sql"], "language": "en"}, {"pg", "window"}),
        ({"tags": ["sql"], "difficulty": "beginner", "language": "pt-BR"}, {"intro"}),
        ({"text": "postgresql", "tags": ["python"]}, {"both"}),
        ({"text": "postgresql", "difficulty": "advanced", "language": "en", "tags": ["SQL"]}, {"window"}),
        ({"text": "postgresql", "difficulty": "beginner", "language": "pt-BR"}, set()),
    ],
)
@pytest.mark.parametrize("order", ["newest", "rating", "relevance"])
async def test_filters_alone_and_combined_find_exactly_the_matching_published_courses(
    store: AsyncStore, catalog: Catalog, filters: dict[str, Any], expected: set[str], order: DiscoveryOrder
) -> None:
    page = await everything(store, order, **filters)
    found = keys(catalog, page)
    assert set(found) == expected
    assert len(found) == len(expected)
    if order != "relevance" or not filters.get("text", "").strip():
        assert found == catalog.expected(found, "rating" if order == "rating" else "newest")


async def test_best_rated_first_breaks_ties_by_count_then_newest_and_puts_unrated_last(
    store: AsyncStore, catalog: Catalog
) -> None:
    found = keys(catalog, await everything(store, "rating"))
    # window 5.00 (2); python 4.00 vs both/pg 4.50 (2) tie: both is newer; model 3.00; unrated by date.
    assert found == ["window", "both", "pg", "python", "model", "rust", "intro"]


async def test_relevance_ranks_title_matches_above_description_matches(
    store: AsyncStore, catalog: Catalog
) -> None:
    page = await everything(store, "relevance", text="postgresql")
    found = keys(catalog, page)
    assert found[0] == "pg"  # the only one with PostgreSQL in its title
    assert set(found[1:]) == {"window", "both"}
    assert [item.relevance for item in page.items] == sorted(
        (item.relevance for item in page.items), reverse=True
    )
    without_text = await everything(store, "relevance")
    assert keys(catalog, without_text) == catalog.expected(list(catalog.specs), "newest")


@pytest.mark.parametrize(
    "text",
    [
        "'",
        "''",
        "&",
        "|",
        "!",
        ":*",
        "%",
        "\\",
        "sql:*",
        "sql & | ! python",
        "!!!",
        "'; DROP TABLE courses; --",
        '"unbalanced',
        "((sql)",
        "a <-> b",
        "%_%\\%",
        "postgres:* & !rust | 'x'",
        "sql " * 120,
        "日本語 テキスト",
    ],
)
async def test_text_queries_with_metacharacters_never_error(
    store: AsyncStore, adb_conn: AConn, catalog: Catalog, text: str
) -> None:
    for order in ("newest", "rating", "relevance"):
        page = await store.catalog.discover(text=text, order=order)
        assert {catalog.draft, catalog.archived}.isdisjoint(item.id for item in page.items)
    assert await count(adb_conn, "courses") == len(catalog.specs) + 2


async def test_a_metacharacter_query_still_matches_its_words(store: AsyncStore, catalog: Catalog) -> None:
    # websearch syntax: tsquery's operators are punctuation, "-" excludes and "or" is an alternative.
    assert set(keys(catalog, await everything(store, text="sql:* & |!"))) == {"both", "intro"}
    assert set(keys(catalog, await everything(store, text="sql -python"))) == {"intro"}
    assert set(keys(catalog, await everything(store, text="'sql' or !rust"))) == {"both", "intro", "rust"}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"difficulty": "expert"}, "difficulty"),
        ({"language": "not a code"}, "language"),
        ({"order": "random"}, "order"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": "10"}, "limit"),
        ({"text": "nul\x00byte"}, "text"),
        ({"text": "x" * 501}, "text"),
        ({"text": 42}, "text"),
        ({"tags": "sql"}, "tags"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["t"] * 21}, "tags"),
        ({"match_all_tags": "yes"}, "match_all_tags"),
        ({"after": "cursor"}, "after"),
    ],
)
async def test_bad_discovery_input_is_invalid_naming_the_field(
    store: AsyncStore, filters: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        await store.catalog.discover(**filters)
    assert caught.value.field is not None and caught.value.field.startswith(field)


# -- discovery: keyset pagination -----------------------------------------------------------------


async def walk(store: AsyncStore, order: DiscoveryOrder, limit: int, **filters: Any) -> list[list[UUID]]:
    pages: list[list[UUID]] = []
    cursor: CourseCursor | None = None
    while True:
        page = await store.catalog.discover(order=order, limit=limit, after=cursor, **filters)
        pages.append([item.id for item in page.items])
        if page.next_cursor is None:
            return pages
        assert len(page.items) == limit
        # A cursor survives being sent to a browser and back.
        cursor = CourseCursor.decode(page.next_cursor.encode())
        assert cursor == page.next_cursor


@pytest.mark.parametrize("order", ["newest", "rating", "relevance"])
@pytest.mark.parametrize("limit", [1, 2, 3, 7])
@pytest.mark.parametrize("text", [None, "sql or python or postgresql"])
async def test_paging_visits_every_course_exactly_once_in_order_despite_ties(
    store: AsyncStore, catalog: Catalog, order: DiscoveryOrder, limit: int, text: str | None
) -> None:
    whole = [item.id for item in (await everything(store, order, text=text)).items]
    pages = await walk(store, order, limit, text=text)
    flat = [course for page in pages for course in page]
    assert flat == whole
    assert len(set(flat)) == len(flat)
    assert all(pages[:-1]) and len(pages) == max(1, -(-len(whole) // limit))


async def test_paging_through_many_tied_courses_loses_none(store: AsyncStore, adb_conn: AConn) -> None:
    # 40 courses published at the same instant, rated alike: only the id orders them.
    same = [await add_course(adb_conn, f"Tied {i}", day=7) for i in range(40)]
    for course in same[::2]:
        await rate(adb_conn, course, 4, 5)
    for order in ("newest", "rating"):
        flat = [course for page in await walk(store, order, 6) for course in page]
        assert sorted(flat) == sorted(same)
        assert len(flat) == 40
    rated = [course for page in await walk(store, "rating", 6) for course in page]
    assert set(rated[:20]) == set(same[::2])


async def test_a_cursor_pages_only_its_own_order_and_garbage_is_not_a_cursor(
    store: AsyncStore, catalog: Catalog
) -> None:
    page = await store.catalog.discover(order="rating", limit=2)
    assert page.next_cursor is not None
    with pytest.raises(InvalidValue) as caught:
        await store.catalog.discover(order="newest", after=page.next_cursor)
    assert caught.value.field == "after"
    for token in ("", "not base64!", "e30", page.next_cursor.encode()[:-3]):
        with pytest.raises(InvalidValue) as bad:
            CourseCursor.decode(token)
        assert bad.value.field == "cursor"


# -- the text search is served by courses_search_idx -----------------------------------------------


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


DEFAULTS: dict[str, Any] = {
    "text_query": None,
    "sort_by": "newest",
    "language_code": None,
    "difficulty": None,
    "tags": [],
    "match_all_tags": True,
    "after_id": None,
    "after_published_at": None,
    "after_score": None,
    "after_count": None,
    "page_size": 21,
}


def statement(sort_by: str) -> str:
    """The SQL `discover` runs for an order: newest first has a statement of its own."""
    queries = sync_queries()
    query = (
        queries.search_published_courses_newest if sort_by == "newest" else queries.search_published_courses
    )
    return str(query.sql)


def explain(conn: psycopg.Connection[Any], **params: Any) -> list[dict[str, Any]]:
    """The plan of the discovery statement for these parameters (and their sort_by), node by node."""
    values = {**DEFAULTS, **params}
    row = conn.execute("EXPLAIN (FORMAT JSON) " + statement(values["sort_by"]), values).fetchone()
    assert row is not None
    return list(plan_nodes(row[0][0]["Plan"]))


@pytest.fixture
def analyzed_db(fresh_db: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a database of 2,000 published courses, with statistics.

    Enough rows that the planner weighs the indexes as it would in production: on a handful of
    rows, reading all of courses_published_idx is cheaper than any search.
    """
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO courses (title, description, status, published_at)
            SELECT 'Course ' || g, CASE WHEN g % 100 = 0 THEN 'PostgreSQL inside' ELSE 'Other things' END,
                   'published', timestamptz '2026-01-01' - g * interval '1 minute'
            FROM generate_series(1, 2000) AS g
            """
        )
        conn.execute("ANALYZE courses")
        yield conn


@pytest.mark.parametrize("sort_by", ["relevance", "newest", "rating"])
def test_the_text_filter_uses_courses_search_idx(analyzed_db: psycopg.Connection[Any], sort_by: str) -> None:
    with analyzed_db.transaction():
        analyzed_db.execute("SET LOCAL enable_seqscan = off")
        nodes = explain(analyzed_db, text_query="postgresql -rust", sort_by=sort_by)
    searched = [node for node in nodes if node.get("Index Name") == "courses_search_idx"]
    assert searched, "the text filter does not use courses_search_idx: do the expressions differ?"
    assert "websearch" not in searched[0]["Index Cond"]  # folded to a constant tsquery


@pytest.mark.parametrize("plan", ["custom", "generic"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"text_query": "postgresql"}, {"language_code": "en", "difficulty": "beginner"}, {"tags": ["sql"]}],
    ids=["none", "text", "language and difficulty", "tags"],
)
def test_newest_first_walks_courses_published_idx_from_the_cursor_without_sorting(
    analyzed_db: psycopg.Connection[Any], plan: str, filters: dict[str, Any]
) -> None:
    """With custom plans and with the generic one a prepared statement switches to (whose optional
    filters, written `$1 IS NULL OR ...`, once looked selective enough to sort every published
    course instead: 3.2 ms against 0.7 at the large benchmark scale)."""
    cursor = {"after_id": uuid4(), "after_published_at": datetime(2025, 12, 31, 12, tzinfo=UTC)}
    params = {**cursor, **filters}
    nodes = explain(analyzed_db, **params) if plan == "custom" else explain_generic(analyzed_db, **params)
    limit = next(node for node in nodes if node["Node Type"] == "Limit")
    below = list(plan_nodes(limit))
    walked = [node for node in below if node.get("Index Name") == "courses_published_idx"]
    assert walked and "ROW(published_at, id) <" in walked[0]["Index Cond"]
    assert walked[0]["Node Type"] == "Index Scan", walked[0]["Node Type"]  # in order, not a bitmap
    # (a tag filter's subquery sorts its course_tags rows to group them: not the courses)
    sorted_courses = [
        node
        for node in below
        if node["Node Type"] == "Sort" and any("published_at" in key for key in node["Sort Key"])
    ]
    assert not sorted_courses, sorted_courses


def explain_generic(conn: psycopg.Connection[Any], **params: Any) -> list[dict[str, Any]]:
    """The generic plan of the discovery statement (what a prepared statement may switch to after
    five runs), for these parameters, node by node."""
    values = {**DEFAULTS, **params}
    text = statement(values["sort_by"])
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, text).replace("%%", "%")
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE discovery_generic AS {prepared}".encode())
        try:
            args = pgsql.SQL(", ").join(pgsql.Literal(values[name]) for name in names)
            row = conn.execute(
                pgsql.SQL("EXPLAIN (FORMAT JSON) EXECUTE discovery_generic ({})").format(args)
            ).fetchone()
        finally:
            conn.execute("DEALLOCATE discovery_generic")
    assert row is not None
    return list(plan_nodes(row[0][0]["Plan"]))


@pytest.mark.parametrize("sort_by", ["relevance", "newest", "rating"])
def test_the_generic_plan_keeps_courses_search_idx_for_a_text_query(
    analyzed_db: psycopg.Connection[Any], sort_by: str
) -> None:
    # Discovery is prepared like any statement; PostgreSQL may then plan it once for any values.
    # The text match is a set of ids found through the index, not to_tsvector run on each course.
    nodes = explain_generic(analyzed_db, text_query="postgresql -rust", sort_by=sort_by)
    searched = [node for node in nodes if node.get("Index Name") == "courses_search_idx"]
    assert searched, "the generic plan of a text search does not use courses_search_idx"
    assert re.search(r"\$\d", searched[0]["Index Cond"])  # a parameter: this is the generic plan
    per_course = [
        node for node in nodes if node.get("Relation Name") == "courses" and "@@" in node.get("Filter", "")
    ]
    assert not per_course, f"the text match runs on each course: {per_course[0]['Filter']}"


async def test_discovery_is_prepared_after_a_few_calls_and_answers_as_before(
    store: AsyncStore, adb_conn: AConn, catalog: Catalog
) -> None:
    first = await store.catalog.discover(text="postgresql")
    assert adb_conn.prepare_threshold is not None
    for _ in range(adb_conn.prepare_threshold * 3):
        assert await store.catalog.discover(text="postgresql") == first
    cur = await adb_conn.execute(
        "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ("%websearch_to_tsquery%",)
    )
    assert await cur.fetchone() == (1,)


# -- rating summaries ------------------------------------------------------------------------------


async def test_rating_summary_has_the_average_count_and_histogram(store: AsyncStore, adb_conn: AConn) -> None:
    course = await add_course(adb_conn, "Rated", status="draft")
    await rate(adb_conn, course, 5, 4, 4, 1, 5, 5)
    summary = await store.catalog.get_rating_summary(course)
    assert summary.course_id == course
    assert (summary.average_rating, summary.rating_count) == (Decimal("4.00"), 6)
    assert summary.histogram == {1: 1, 2: 0, 3: 0, 4: 2, 5: 3}
    thirds = await add_course(adb_conn, "Thirds")
    await rate(adb_conn, thirds, 5, 5, 4)
    assert (await store.catalog.get_rating_summary(thirds)).average_rating == Decimal("4.67")


async def test_an_unrated_course_has_an_empty_summary_and_an_unknown_one_is_not_found(
    store: AsyncStore, adb_conn: AConn
) -> None:
    course = await add_course(adb_conn, "Unrated")
    summary = await store.catalog.get_rating_summary(course)
    assert (summary.average_rating, summary.rating_count) == (None, 0)
    assert summary.histogram == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    nobody = uuid4()
    with pytest.raises(NotFound) as caught:
        await store.catalog.get_rating_summary(nobody)
    assert caught.value.field == "course_id" and str(nobody) in caught.value.message


# -- the sync twin ---------------------------------------------------------------------------------


def test_the_sync_store_has_the_same_catalog(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    store.catalog.create_language("en", "English")
    row = db_conn.execute(
        "INSERT INTO courses (title, status, published_at, language_id)"
        " VALUES ('Sync', 'published', now(), (SELECT id FROM languages WHERE code = 'en')) RETURNING id"
    ).fetchone()
    assert row is not None
    assert [t.name for t in store.catalog.attach_tags(row[0], ["sync"])] == ["sync"]
    page = store.catalog.discover(language="EN", tags=["SYNC"])
    assert [(item.title, item.tags) for item in page.items] == [("Sync", ["sync"])]
    assert store.catalog.get_rating_summary(row[0]).rating_count == 0
