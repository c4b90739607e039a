"""Public flashcard sets most used first: a set's learners (each user who has started one of its
cards, once) kept exact by triggers, browsed by an index with keyset pages, under races and as_user."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from uuid import UUID

import psycopg
import pytest
from test_content import make_user
from test_races import WRITERS, race_tasks, race_threads, scalar, sql
from test_sharing import generic_plan, settled_plan

import learnstore
from learnstore import AsyncStore, Store
from learnstore._resources import queries_dir
from learnstore.errors import InvalidValue, NotFound
from learnstore.queries._loader import parse_dir

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def as_app(conn: AConn, clerk_id: str) -> None:
    """What as_user does at BEGIN, inside the caller's (rolled back) transaction."""
    await conn.execute(
        "SELECT set_config('role', 'learnstore_app', true), set_config('learnstore.clerk_id', %s, true)",
        [clerk_id],
    )


async def learners_of(conn: AConn, set_id: UUID) -> tuple[int, list[str]]:
    """The set's stored count and its learners' ids."""
    cur = await conn.execute(
        "SELECT s.learners, array(SELECT l.user_clerk_id FROM flashcard_set_learners l"
        " WHERE l.set_id = s.id ORDER BY 1) FROM flashcard_sets s WHERE s.id = %s",
        [set_id],
    )
    row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]


async def test_each_learner_counts_once_and_stays_until_erased(store: AsyncStore, adb_conn: AConn) -> None:
    for clerk_id in ("ana", "bo", "cy"):
        await make_user(store, clerk_id, clerk_id.title())
    deck = await store.flashcards.create_set("ana", "Verbs", is_public=True)
    cards = [(await store.flashcards.add_card("ana", deck.id, f"w{i}", "x")).id for i in range(3)]
    assert await learners_of(adb_conn, deck.id) == (0, [])
    await store.flashcards.review("bo", cards[0], "good")
    await store.flashcards.review("bo", cards[1], "good")
    await store.flashcards.review("bo", cards[0], "easy")  # a second card, a second review: still one
    assert await learners_of(adb_conn, deck.id) == (1, ["bo"])
    await store.flashcards.review("cy", cards[2], "again")
    await store.flashcards.review("ana", cards[2], "good")  # the owner learns it too
    assert await learners_of(adb_conn, deck.id) == (3, ["ana", "bo", "cy"])
    # The count is not an edit of the set.
    assert (await store.flashcards.get_set("ana", deck.id)).updated_at == deck.updated_at
    # cy's only card goes: cy did use the set, and still counts.
    assert await store.flashcards.delete_card("ana", cards[2])
    assert await learners_of(adb_conn, deck.id) == (3, ["ana", "bo", "cy"])
    # An erased learner goes, and the count with them.
    assert await store.users.erase("bo")
    assert await learners_of(adb_conn, deck.id) == (2, ["ana", "cy"])
    # Another set's learners are its own; a deleted set takes its pairs.
    other = await store.flashcards.create_set("cy", "Nouns", is_public=True)
    card = await store.flashcards.add_card("cy", other.id, "casa", "house")
    await store.flashcards.review("ana", card.id, "good")
    assert await learners_of(adb_conn, other.id) == (1, ["ana"])
    assert await store.flashcards.delete_set("ana", deck.id)
    cur = await adb_conn.execute("SELECT count(*) FROM flashcard_set_learners")
    assert await cur.fetchone() == (1,)
    assert (await store.check()).drift == 0


async def public_sets(store: AsyncStore, adb_conn: AConn) -> dict[str, UUID]:
    """Four public sets with 3, 1, 1 and 0 learners, a private one with 4, and a language."""
    for clerk_id in ("ana", "bo", "cy", "di"):
        await make_user(store, clerk_id, clerk_id.title())
    pt = (await store.catalog.create_language("pt", "Portuguese")).id
    made = {
        "popular": await store.flashcards.create_set("ana", "Portuguese verbs", is_public=True),
        "tie_a": await store.flashcards.create_set("ana", "Portuguese nouns", is_public=True),
        "tie_b": await store.flashcards.create_set("bo", "French verbs", is_public=True),
        "unused": await store.flashcards.create_set("bo", "German verbs", is_public=True),
        "private": await store.flashcards.create_set("ana", "My verbs"),
    }
    await adb_conn.execute("UPDATE flashcard_sets SET language_id = %s WHERE title LIKE 'Portuguese%%'", [pt])
    usage = {"popular": ["bo", "cy", "di"], "tie_a": ["cy"], "tie_b": ["di"], "private": ["ana"]}
    for name, learners in usage.items():
        card = await store.flashcards.add_card(made[name].owner_clerk_id, made[name].id, "front", "back")
        for clerk_id in learners:
            await store.flashcards.review(clerk_id, card.id, "good")
    return {"pt": pt, **{name: s.id for name, s in made.items()}}


async def test_browsing_public_sets_most_used_first(store: AsyncStore, adb_conn: AConn) -> None:
    ids = await public_sets(store, adb_conn)
    rows = await store.sharing.browse_sets(order="most_used")
    ties = sorted([ids["tie_a"], ids["tie_b"]], reverse=True)  # equal counts: by id, descending
    assert [r.id for r in rows] == [ids["popular"], *ties, ids["unused"]]  # never the private one
    assert [r.learners for r in rows] == [3, 1, 1, 0]
    assert (rows[0].title, rows[0].card_count, rows[0].owner_name) == ("Portuguese verbs", 1, "Ana")
    # The newest order carries the count too.
    newest = await store.sharing.browse_sets()
    assert {r.id: r.learners for r in newest} == {r.id: r.learners for r in rows}
    # Filters as in the newest order.
    assert [r.id for r in await store.sharing.browse_sets(order="most_used", text="verbs")] == [
        ids["popular"],
        ids["tie_b"],
        ids["unused"],
    ]
    assert [r.id for r in await store.sharing.browse_sets(order="most_used", language_id=ids["pt"])] == [
        ids["popular"],
        ids["tie_a"],
    ]
    assert await store.sharing.browse_sets(order="most_used", text="nothing-like-this") == []
    # Keyset pages of every size cover the list once, in order, across the tie.
    for size in (1, 2, 3):
        seen: list[UUID] = []
        page = await store.sharing.browse_sets(order="most_used", limit=size)
        while page:
            seen += [r.id for r in page]
            page = await store.sharing.browse_sets(order="most_used", limit=size, before=page[-1])
        assert seen == [r.id for r in rows], size
    # Under as_user, whoever looks, the same list.
    assert [r.id for r in await store.as_user("di").sharing.browse_sets(order="most_used")] == [
        r.id for r in rows
    ]
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.browse_sets(order="popular")  # type: ignore[arg-type]
    assert bad.value.field == "order"
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.browse_sets(order="most_used", before=object())  # type: ignore[arg-type]
    assert bad.value.field == "before"


async def test_no_public_set_is_an_empty_page(store: AsyncStore) -> None:
    await make_user(store, "ana")
    await store.flashcards.create_set("ana", "Private")
    assert await store.sharing.browse_sets(order="most_used") == []


async def test_under_as_user_the_pairs_and_the_count_are_written_by_the_triggers_only(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ids = await public_sets(store, adb_conn)
    cur = await adb_conn.execute("SELECT id FROM flashcard_set_learners WHERE user_clerk_id = 'bo'")
    row = await cur.fetchone()
    assert row is not None
    statements = [
        (
            "INSERT INTO flashcard_set_learners (set_id, user_clerk_id) VALUES (%s, 'mallory')",
            [ids["unused"]],
        ),
        ("UPDATE flashcard_set_learners SET user_clerk_id = user_clerk_id WHERE id = %s", [row[0]]),
        ("DELETE FROM flashcard_set_learners WHERE set_id = %s", [ids["popular"]]),
        # the owner of a set may not set its count either
        ("UPDATE flashcard_sets SET learners = 99 WHERE id = %s", [ids["unused"]]),
    ]
    await make_user(store, "mallory")
    for actor in ("mallory", "ana", "bo"):
        for statement, params in statements:
            async with adb_conn.transaction(force_rollback=True):
                await as_app(adb_conn, actor)
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    await adb_conn.execute(statement.encode(), params)
    # Each learner reads their own pairs, nobody else's.
    async with adb_conn.transaction(force_rollback=True):
        await as_app(adb_conn, "cy")
        cur = await adb_conn.execute("SELECT set_id FROM flashcard_set_learners ORDER BY set_id")
        assert [r[0] for r in await cur.fetchall()] == sorted([ids["popular"], ids["tie_a"]])
    assert await learners_of(adb_conn, ids["popular"]) == (3, ["bo", "cy", "di"])
    assert await learners_of(adb_conn, ids["unused"]) == (0, [])
    # Reviewing a private set of another's is refused, and counts nobody.
    private_card = (await store.flashcards.list_cards("ana", ids["private"]))[0]
    with pytest.raises(NotFound):
        await store.as_user("mallory").flashcards.review("mallory", private_card.id, "good")
    assert await learners_of(adb_conn, ids["private"]) == (1, ["ana"])


def one_public_set(dsn: str, cards: int) -> tuple[UUID, list[UUID]]:
    sql(dsn, "INSERT INTO users (clerk_id, first_name) VALUES ('owner', 'O')")
    sql(
        dsn,
        "INSERT INTO users (clerk_id, first_name) SELECT 'l' || i, 'L' FROM generate_series(0, %s) i",
        [WRITERS - 1],
    )
    with learnstore.connect(dsn, max_size=1) as store:
        deck = store.flashcards.create_set("owner", "Deck", is_public=True)
        ids = [store.flashcards.add_card("owner", deck.id, f"w{i}", "x").id for i in range(cards)]
    return deck.id, ids


def test_sixteen_learners_starting_one_set_at_once_count_exactly(fresh_db: str) -> None:
    set_id, cards = one_public_set(fresh_db, 4)

    def start(store: Store, i: int) -> None:
        # each learner under their own identity, two cards in one transaction
        learner = store.as_user(f"l{i}")
        learner.flashcards.review(f"l{i}", cards[i % 3], "good")
        learner.flashcards.review(f"l{i}", cards[(i + 1) % 3], "good")

    race_threads(fresh_db, start, seed=3)
    assert scalar(fresh_db, "SELECT learners FROM flashcard_sets WHERE id = %s", [set_id]) == WRITERS
    assert (
        scalar(fresh_db, "SELECT count(*) FROM flashcard_set_learners WHERE set_id = %s", [set_id]) == WRITERS
    )
    # Four learners, each racing four of their own writers on four cards: four learners.
    sql(fresh_db, "DELETE FROM flashcard_set_learners")
    sql(fresh_db, "DELETE FROM user_flashcard_progress")
    assert scalar(fresh_db, "SELECT learners FROM flashcard_sets WHERE id = %s", [set_id]) == 0

    def again(store: Store, i: int) -> None:
        store.flashcards.review(f"l{i % 4}", cards[i // 4], "good")

    race_threads(fresh_db, again, seed=4)
    assert scalar(fresh_db, "SELECT learners FROM flashcard_sets WHERE id = %s", [set_id]) == 4
    with learnstore.connect(fresh_db, max_size=1) as store:
        assert store.check().drift == 0


async def test_sixteen_async_learners_count_exactly(fresh_db: str) -> None:
    set_id, cards = one_public_set(fresh_db, 2)

    async def start(store: AsyncStore, i: int) -> None:
        await store.flashcards.review(f"l{i}", cards[i % 2], "good")

    await race_tasks(fresh_db, start, seed=5)
    assert scalar(fresh_db, "SELECT learners FROM flashcard_sets WHERE id = %s", [set_id]) == WRITERS


async def test_first_reviews_racing_the_owners_moves_and_deletions_never_deadlock(fresh_db: str) -> None:
    """A learner's first review of a set locks the set row (its learners count) and the card (the
    progress row's foreign key); the owner's moves and deletions lock the set, then its cards. The
    review takes them in that order too, so no call here fails: each is one statement, in
    autocommit, with nobody to run it again (before 0026 one run in two deadlocked)."""
    set_id, cards = one_public_set(fresh_db, 24)
    rng = random.Random(11)
    async with await learnstore.connect_async(fresh_db, max_size=WRITERS) as store:
        calls = [
            *(store.as_user(f"l{i}").flashcards.review(f"l{i}", cards[i], "good") for i in range(WRITERS)),
            *(store.flashcards.move_card("owner", cards[i], rng.randint(0, 15)) for i in range(0, 16, 2)),
            *(store.flashcards.delete_card("owner", card) for card in cards[16:]),
        ]
        rng.shuffle(calls)
        await asyncio.gather(*calls)
        assert [c.position for c in await store.flashcards.list_cards("owner", set_id)] == list(range(16))
        assert (await store.check()).drift == 0
    assert scalar(fresh_db, "SELECT learners FROM flashcard_sets WHERE id = %s", [set_id]) == WRITERS


def test_most_used_first_reads_its_index_not_the_table(fresh_db: str) -> None:
    """On 5,000 sets with statistics, the most-used page is read from flashcard_sets_public_learners_idx
    from the keyset, in order, by the plan a prepared statement settles on too, and no search reads
    the table whole. (Before, the generic plan estimated the optional filters to leave one row, read
    every public set with a bitmap scan and sorted them; PostgreSQL kept it once searches had made
    the custom plans cost more.)"""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (clerk_id, first_name) SELECT 'u' || i, 'U' FROM generate_series(1, 500) i"
        )
        conn.execute(
            "INSERT INTO flashcard_sets (owner_clerk_id, title, description, is_public)"
            " SELECT 'u' || (i % 500 + 1), 'Set ' || i || CASE WHEN i % 100 = 0 THEN ' rare' ELSE '' END,"
            " 'words', i % 3 > 0 FROM generate_series(1, 5000) i"
        )
        conn.execute("UPDATE flashcard_sets SET learners = (hashtext(id::text) & 1023)")
        conn.execute("ANALYZE")
        text = {q.name: q for q in parse_dir(queries_dir())}[
            "SearchPublicFlashcardSetsByLearners"
        ].psycopg_sql
        defaults: dict[str, Any] = {
            "text_query": None,
            "language_id": None,
            "course_id": None,
            "before_learners": None,
            "before_id": None,
            "page_size": 20,
        }
        middle = conn.execute(
            "SELECT learners, id FROM flashcard_sets WHERE is_public"
            " ORDER BY 1 DESC, 2 DESC OFFSET 1000 LIMIT 1"
        ).fetchone()
        assert middle is not None
        cases = [
            ({}, "flashcard_sets_public_learners_idx"),
            ({"before_learners": middle[0], "before_id": middle[1]}, "flashcard_sets_public_learners_idx"),
            ({"text_query": "rare"}, "flashcard_sets_"),
        ]
        for params, index in cases:
            values = {**defaults, **params}
            custom = conn.execute(f"EXPLAIN {text}".encode(), values).fetchall()
            for plan in (custom, settled_plan(conn, text, values), generic_plan(conn, text, values)):
                lines = "\n".join(row[0] for row in plan)
                assert "Seq Scan on flashcard_sets" not in lines, (params, lines)
                assert index in lines, lines
                # Without text the page is the walk's: the index in order, stopping at the page's end.
                assert "Index Scan using flashcard_sets_public_learners_idx" in lines, lines
                assert "Bitmap Index Scan on flashcard_sets_public_learners_idx" not in lines, lines
