"""Flashcards on a real database: sets and cards in order, FSRS reviews with a log that replays to the
stored schedule, mastery, the due queue with its daily cap of new cards, hostile input and races."""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from fsrs import Card, Rating, Scheduler, State
from psycopg import pq

import learnstore
from learnstore import AsyncStore, Store
from learnstore.errors import InvalidReference, InvalidValue, NotFound
from learnstore.migrate import rollback, status, upgrade
from learnstore.repositories.flashcards import CardSchedule as SyncCardSchedule
from learnstore.repositories.flashcards_async import COPY_FROM, CardSchedule, mastery_of

AConn = psycopg.AsyncConnection[Any]
START = datetime(2016, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def make_user(conn: AConn, clerk_id: str, timezone: str = "UTC") -> str:
    await conn.execute("INSERT INTO users (clerk_id, timezone) VALUES (%s, %s)", [clerk_id, timezone])
    return clerk_id


async def scalar(conn: AConn, query: str, params: list[Any] | None = None) -> Any:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def counts(conn: AConn) -> tuple[int, ...]:
    """Rows in every flashcard table: what "nothing written" compares."""
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM flashcard_sets), (SELECT count(*) FROM flashcards),"
        " (SELECT count(*) FROM user_flashcard_progress), (SELECT count(*) FROM flashcard_reviews)"
    )
    row = await cur.fetchone()
    assert row is not None
    return tuple(row)


async def deck(
    store: AsyncStore, owner: str, *fronts: str, is_public: bool = False
) -> tuple[UUID, list[UUID]]:
    imported = await store.flashcards.import_set(
        owner, "Deck", [(front, f"{front}!") for front in fronts], is_public=is_public
    )
    cards = await store.flashcards.list_cards(owner, imported.set.id)
    return imported.set.id, [card.id for card in cards]


# -- sets ---------------------------------------------------------------------------------------


async def test_sets_are_created_edited_listed_and_deleted(store: AsyncStore, adb_conn: AConn) -> None:
    ana = await make_user(adb_conn, "ana")
    bob = await make_user(adb_conn, "bob")
    course = await scalar(adb_conn, "INSERT INTO courses (title) VALUES ('Portuguese') RETURNING id")
    private = await store.flashcards.create_set(ana, "Verbs", description="ser, estar")
    public = await store.flashcards.create_set(ana, "Greetings", course_id=course, is_public=True)
    assert (private.is_public, private.course_id, public.course_id) == (False, None, course)

    # one transaction, one now(): newest first cannot tell them apart here
    assert {s.id for s in await store.flashcards.list_user_sets(ana)} == {public.id, private.id}
    assert [s.id for s in await store.flashcards.list_course_sets(course)] == [public.id]
    assert (await store.flashcards.get_set(bob, public.id)).card_count == 0
    with pytest.raises(NotFound, match="may see"):
        await store.flashcards.get_set(bob, private.id)

    renamed = await store.flashcards.update_set(ana, private.id, title="Irregular verbs", is_public=True)
    assert (renamed.title, renamed.description, renamed.is_public) == ("Irregular verbs", "ser, estar", True)
    untied = await store.flashcards.update_set(ana, public.id, course_id=None)
    assert untied.course_id is None and await store.flashcards.list_course_sets(course) == []
    with pytest.raises(NotFound):
        await store.flashcards.update_set(bob, private.id, title="Mine now")
    assert await store.flashcards.delete_set(bob, private.id) is False
    assert await store.flashcards.delete_set(ana, private.id) is True
    assert await store.flashcards.delete_set(ana, private.id) is False
    assert [s.id for s in await store.flashcards.list_user_sets(ana)] == [public.id]


async def test_bad_sets_are_refused_and_write_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    ana = await make_user(adb_conn, "ana")
    before = await counts(adb_conn)
    with pytest.raises(InvalidValue, match="title"):
        await store.flashcards.create_set(ana, "   ")
    with pytest.raises(InvalidValue, match="description"):
        await store.flashcards.create_set(ana, "Big", description="x" * 1_000_000)
    with pytest.raises(InvalidValue, match="is_public"):
        await store.flashcards.create_set(ana, "Odd", is_public="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidReference, match="owner_clerk_id"):
        await store.flashcards.create_set("ghost", "Nobody's")
    with pytest.raises(InvalidReference, match="course_id"):
        await store.flashcards.create_set(ana, "Lost", course_id=uuid4())
    with pytest.raises(InvalidValue, match="title cannot be cleared"):
        await store.flashcards.update_set(ana, uuid4(), title=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="set_id"):
        await store.flashcards.get_set(ana, "'; DROP TABLE flashcards; --")  # type: ignore[arg-type]
    assert await counts(adb_conn) == before


# -- cards in order -----------------------------------------------------------------------------


async def test_cards_stay_densely_ordered_through_adds_moves_reorders_and_deletes(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    s = await store.flashcards.create_set(ana, "Numbers")
    one = await store.flashcards.add_card(ana, s.id, "um", "one")
    three = await store.flashcards.add_card(ana, s.id, "três", "three")
    two = await store.flashcards.add_card(ana, s.id, "dois", "two", position=1)
    zero = await store.flashcards.add_card(ana, s.id, "zero", "zero", position=0)

    async def order() -> list[str]:
        return [card.front for card in await store.flashcards.list_cards(ana, s.id)]

    async def positions() -> list[int]:
        return [card.position for card in await store.flashcards.list_cards(ana, s.id)]

    assert await order() == ["zero", "um", "dois", "três"]
    await store.flashcards.move_card(ana, zero.id, None)
    assert await order() == ["um", "dois", "três", "zero"]
    await store.flashcards.move_card(ana, zero.id, 0)
    assert await order() == ["zero", "um", "dois", "três"]
    reordered = await store.flashcards.reorder_cards(ana, s.id, [three.id, two.id, one.id, zero.id])
    assert [c.front for c in reordered] == ["três", "dois", "um", "zero"] == await order()
    assert await store.flashcards.delete_card(ana, two.id) is True
    assert await order() == ["três", "um", "zero"] and await positions() == [0, 1, 2]
    edited = await store.flashcards.update_card(ana, one.id, back="1")
    assert (edited.front, edited.back) == ("um", "1")
    # plain SQL without a position appends, as the trigger promises
    await adb_conn.execute("INSERT INTO flashcards (set_id, front, back) VALUES (%s, 'cinco', '5')", [s.id])
    assert await order() == ["três", "um", "zero", "cinco"] and await positions() == [0, 1, 2, 3]
    assert (await store.flashcards.get_set(ana, s.id)).card_count == 4


async def test_hostile_card_operations_are_refused_and_change_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    bob = await make_user(adb_conn, "bob")
    set_id, cards = await deck(store, ana, "a", "b", "c")
    before = await counts(adb_conn)
    order = [c.id for c in await store.flashcards.list_cards(ana, set_id)]

    with pytest.raises(NotFound) as unknown:
        await store.flashcards.add_card(ana, uuid4(), "in", "no set")
    assert unknown.value.field == "set_id"
    with pytest.raises(NotFound):
        await store.flashcards.add_card(bob, set_id, "not", "mine")
    with pytest.raises(NotFound):
        await store.flashcards.update_card(bob, cards[0], front="hijacked")
    with pytest.raises(NotFound):
        await store.flashcards.move_card(bob, cards[0], 2)
    assert await store.flashcards.delete_card(bob, cards[0]) is False
    with pytest.raises(InvalidValue, match="front"):
        await store.flashcards.add_card(ana, set_id, " \t", "blank")
    with pytest.raises(InvalidValue, match="back"):
        await store.flashcards.add_card(ana, set_id, "huge", "x" * 1_000_000)
    with pytest.raises(InvalidValue, match="position"):
        await store.flashcards.add_card(ana, set_id, "far", "away", position=9)
    with pytest.raises(InvalidValue, match="position"):
        await store.flashcards.add_card(ana, set_id, "neg", "ative", position=-1)
    with pytest.raises(InvalidValue, match="card_ids"):
        await store.flashcards.reorder_cards(ana, set_id, cards[:2])
    with pytest.raises(InvalidValue, match="card_ids"):
        await store.flashcards.reorder_cards(ana, set_id, [cards[0], cards[0], cards[1]])
    with pytest.raises(InvalidValue, match="card_ids"):
        await store.flashcards.reorder_cards(ana, set_id, [cards[0], cards[1], uuid4()])
    with pytest.raises(NotFound):
        await store.flashcards.reorder_cards(bob, set_id, cards[::-1])
    assert await counts(adb_conn) == before
    assert [c.id for c in await store.flashcards.list_cards(ana, set_id)] == order
    assert await store.flashcards.list_cards(bob, set_id) == []  # private: bob sees nothing

    odd = await store.flashcards.add_card(ana, set_id, "'; DELETE FROM flashcards; --", "%s %(x)s $1 \\")
    assert (await store.flashcards.list_cards(ana, set_id))[-1] == odd
    assert odd.back == "%s %(x)s $1 \\"


# -- import -------------------------------------------------------------------------------------


async def test_an_import_writes_the_set_and_its_cards_in_order_or_nothing(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    rows = [(f"front {i}", f"back {i}") for i in range(500)]
    imported = await store.flashcards.import_set(
        ana, "Five hundred", rows, description="bulk", is_public=True
    )
    assert imported.card_count == 500
    cards = await store.flashcards.list_cards("anyone", imported.set.id)
    assert [(c.front, c.back, c.position) for c in cards] == [(f, b, i) for i, (f, b) in enumerate(rows)]
    mapped = await store.flashcards.import_set(ana, "Mapped", [{"front": "olá", "back": "hello"}])
    assert [c.back for c in await store.flashcards.list_cards(ana, mapped.set.id)] == ["hello"]

    before = await counts(adb_conn)
    with pytest.raises(InvalidValue, match=r"cards\.2\.back"):
        await store.flashcards.import_set(ana, "Broken", [("a", "b"), ("c", "d"), ("e", "")])
    with pytest.raises(InvalidValue, match=r"cards\.0"):
        await store.flashcards.import_set(ana, "Broken", [("a", "b", "c")])  # type: ignore[list-item]
    with pytest.raises(InvalidValue, match="cards"):
        await store.flashcards.import_set(ana, "Broken", "front,back")  # type: ignore[arg-type]
    with pytest.raises(InvalidReference, match="owner_clerk_id"):
        await store.flashcards.import_set("ghost", "Nobody's", rows)
    with pytest.raises(InvalidValue, match=r"cards\.499\.front"):
        await store.flashcards.import_set(ana, "NUL", [*rows[:499], ("bad\x00", "x")])
    assert await counts(adb_conn) == before


async def test_a_large_import_goes_by_copy_and_a_failure_midway_writes_nothing(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        ana = await make_user(conn, "ana")
        rows = [(f"front {i}", f"back {i}") for i in range(COPY_FROM * 3)]
        with round_trips(conn) as trips:
            imported = await store.flashcards.import_set(ana, "By COPY", rows)
        assert len(trips) > 1  # the COPY path: a transaction of several exchanges
        cards = await store.flashcards.list_cards(ana, imported.set.id)
        assert [(c.front, c.position) for c in cards] == [(f, i) for i, (f, _) in enumerate(rows)]
        before = await counts(conn)
        # the set is written, then the COPY fails on a card only the database refuses: all rolled back
        await conn.execute(
            "ALTER TABLE flashcards ADD CONSTRAINT flashcards_test_no_zebra CHECK (front <> 'zebra')"
        )
        with pytest.raises(InvalidValue):
            await store.flashcards.import_set(ana, "Midway", [*rows, ("zebra", "z")])
        assert await counts(conn) == before
        assert conn.info.transaction_status == pq.TransactionStatus.IDLE


# -- reviews ------------------------------------------------------------------------------------


async def test_a_first_review_schedules_the_card_with_fsrs_and_logs_it(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    _, (card, *_) = await deck(store, ana, "gato")
    progress = await store.flashcards.review(ana, card, "good", reviewed_at=START, review_duration_ms=3100)
    expected, _ = Scheduler(enable_fuzzing=False).review_card(Card(card_id=1), Rating.Good, START)
    assert (progress.state, progress.step, progress.stability, progress.difficulty) == (
        "learning",
        expected.step,
        expected.stability,
        expected.difficulty,
    )
    assert progress.next_review_at == expected.due == START + timedelta(minutes=10)
    assert (progress.repetitions, progress.mastery, progress.last_reviewed_at) == (1, 1, START)
    (log,) = await store.flashcards.list_reviews(ana, card)
    assert (log.review_number, log.rating, log.reviewed_at, log.elapsed_days, log.review_duration_ms) == (
        1,
        3,
        START,
        None,
        3100,
    )
    assert (log.state_before, log.stability_before, log.state_after, log.due_after) == (
        "new",
        None,
        "learning",
        progress.next_review_at,
    )


async def test_replaying_the_log_gives_exactly_the_stored_schedule(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    _, cards = await deck(store, ana, *(f"card {i}" for i in range(6)))
    rng = random.Random(20260105)
    for card in cards:
        at = START
        for _ in range(rng.randint(1, 25)):
            grade = rng.choice([1, 2, 3, 3, 3, 4])
            progress = await store.flashcards.review(ana, card, grade, reviewed_at=at)
            # sometimes on time, sometimes early, sometimes late, sometimes within the same day
            gap = progress.next_review_at - at
            at += rng.choice([gap, gap / 2, gap * 3, timedelta(minutes=rng.randint(1, 600))])
            if at > datetime.now(UTC):  # reviews are not dated in the future
                break
        stored = await store.flashcards.get_progress(ana, card)
        assert stored is not None
        assert await store.flashcards.replay(ana, card) == CardSchedule.of(stored)
        log = await store.flashcards.list_reviews(ana, card)
        assert [r.review_number for r in log] == list(range(1, len(log) + 1))
        # each review starts from the state the one before it left
        for earlier, later in itertools.pairwise(log):
            assert (
                later.state_before,
                later.stability_before,
                later.difficulty_before,
                later.due_before,
            ) == (
                earlier.state_after,
                earlier.stability_after,
                earlier.difficulty_after,
                earlier.due_after,
            )
    assert await store.flashcards.replay(ana, uuid4()) is None


async def test_mastery_grows_with_stability_and_drops_on_a_lapse(store: AsyncStore, adb_conn: AConn) -> None:
    ana = await make_user(adb_conn, "ana")
    _, (card, *_) = await deck(store, ana, "casa")
    at = START
    seen: list[int] = []
    while not seen or seen[-1] < 5:
        progress = await store.flashcards.review(ana, card, "good", reviewed_at=at)
        seen.append(progress.mastery)
        assert progress.mastery == mastery_of(State[progress.state.capitalize()], progress.stability or 0)
        at = progress.next_review_at
        assert len(seen) < 10, seen
    assert seen == sorted(seen) and seen[0] == 1 and seen[-1] == 5
    lapse = await store.flashcards.review(ana, card, "again", reviewed_at=at)
    assert (lapse.state, lapse.mastery) == ("relearning", 1)
    totals = await store.flashcards.count_reviewed(ana)
    assert (totals.cards_reviewed, totals.reviews, totals.cards_mastered) == (1, len(seen) + 1, 0)


def test_mastery_levels_follow_the_documented_stability_bounds() -> None:
    assert [mastery_of(State.Learning, 500), mastery_of(State.Relearning, 500)] == [1, 1]
    assert [mastery_of(State.Review, s) for s in (1, 6.99, 7, 29.9, 30, 89.9, 90, 3650)] == [
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]


async def test_hostile_reviews_are_refused_and_write_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    ana = await make_user(adb_conn, "ana")
    bob = await make_user(adb_conn, "bob")
    _, (private_card, *_) = await deck(store, ana, "secret")
    public_set, (public_card, *_) = await deck(store, ana, "shared", is_public=True)
    await store.flashcards.review(ana, private_card, 3, reviewed_at=START)
    before = await counts(adb_conn)
    for grade in (5, 0, -1, True, "perfect", 3.0, None):
        with pytest.raises(InvalidValue) as bad:
            await store.flashcards.review(ana, private_card, grade)  # type: ignore[arg-type]
        assert bad.value.field == "grade"
    with pytest.raises(NotFound, match="may review"):
        await store.flashcards.review(bob, private_card, "good")
    with pytest.raises(NotFound):
        await store.flashcards.review(ana, uuid4(), "good")
    with pytest.raises(InvalidValue, match="reviewed_at"):
        await store.flashcards.review(ana, private_card, "good", reviewed_at=START - timedelta(seconds=1))
    with pytest.raises(InvalidValue, match="reviewed_at"):
        await store.flashcards.review(ana, private_card, "good", reviewed_at=datetime(2026, 2, 1))
    with pytest.raises(InvalidValue, match="future"):
        await store.flashcards.review(
            ana, private_card, "good", reviewed_at=datetime.now(UTC) + timedelta(days=1)
        )
    with pytest.raises(InvalidValue, match="review_duration_ms"):
        await store.flashcards.review(ana, private_card, "good", review_duration_ms=-5)
    with pytest.raises(InvalidValue, match="clerk_id"):
        await store.flashcards.review("x" * 1_000_000, private_card, "good")
    assert await counts(adb_conn) == before
    # a public card is anyone's to study, each learner on their own schedule
    await store.flashcards.review(bob, public_card, Rating.Easy)
    assert (await store.flashcards.get_progress(bob, public_card)) is not None
    assert (await store.flashcards.get_progress(ana, public_card)) is None
    # a set made private again takes its cards out of others' reach
    await store.flashcards.update_set(ana, public_set, is_public=False)
    with pytest.raises(NotFound):
        await store.flashcards.review(bob, public_card, "good")


# -- the due queue ------------------------------------------------------------------------------


async def test_the_queue_puts_overdue_cards_first_then_new_cards_up_to_the_daily_cap(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    bob = await make_user(adb_conn, "bob")
    set_id, cards = await deck(store, ana, *(f"c{i}" for i in range(10)))
    other_set, other_cards = await deck(store, bob, "bob's", "bob's 2", is_public=True)
    now = datetime.now(UTC)
    # three reviewed cards: due 3 days ago, due 1 day ago, due tomorrow
    for card, days_ago in ((cards[0], 1), (cards[1], 3), (cards[2], -1)):
        await store.flashcards.review(ana, card, "good", reviewed_at=now - timedelta(days=30))
        await adb_conn.execute(
            "UPDATE user_flashcard_progress SET next_review_at = now() - make_interval(days => %s)"
            " WHERE flashcard_id = %s",
            [days_ago, card],
        )
    queue = await store.flashcards.list_due(ana, limit=20, new_per_day=4)
    assert [q.flashcard_id for q in queue[:2]] == [cards[1], cards[0]]
    assert [q.state for q in queue] == ["learning", "learning", "new", "new", "new", "new"]
    # the cap counts the cards first reviewed today: the three above were first reviewed a month ago
    assert [q.flashcard_id for q in queue[2:]] == cards[3:7]
    await store.flashcards.review(ana, cards[3], "easy")
    await store.flashcards.review(ana, cards[4], "easy")
    after = await store.flashcards.list_due(ana, limit=20, new_per_day=4)
    assert [q.flashcard_id for q in after if q.state == "new"] == cards[5:7]
    assert len(await store.flashcards.list_due(ana, limit=1, new_per_day=4)) == 1
    assert [q.state for q in await store.flashcards.list_due(ana, new_per_day=0)] == ["learning", "learning"]
    # another user's public set: only through set_id; a set of theirs they made private: never
    assert {q.flashcard_id for q in await store.flashcards.list_due(ana, set_id=other_set)} == set(
        other_cards
    )
    await store.flashcards.review(ana, other_cards[0], "again")
    await adb_conn.execute("UPDATE flashcard_sets SET is_public = false WHERE id = %s", [other_set])
    await adb_conn.execute("UPDATE user_flashcard_progress SET next_review_at = now() - interval '1 hour'")
    assert other_cards[0] not in {q.flashcard_id for q in await store.flashcards.list_due(ana)}
    assert await store.flashcards.list_due(ana, set_id=other_set) == []
    assert await store.flashcards.list_due("nobody") == []
    with pytest.raises(InvalidValue, match="limit"):
        await store.flashcards.list_due(ana, limit=0)
    with pytest.raises(InvalidValue, match="new_per_day"):
        await store.flashcards.list_due(ana, new_per_day=-1)
    assert set_id


async def test_the_daily_cap_starts_at_midnight_in_the_learners_time_zone(adb_conn: AConn) -> None:
    store = AsyncStore.on(adb_conn)
    # Kiritimati is UTC+14: "today" there began at 10:00 UTC yesterday at the latest
    kiri = await make_user(adb_conn, "kiri", timezone="Pacific/Kiritimati")
    _, cards = await deck(store, kiri, "a", "b", "c")
    local_midnight = await scalar(
        adb_conn,
        "SELECT date_trunc('day', now() AT TIME ZONE 'Pacific/Kiritimati') AT TIME ZONE 'Pacific/Kiritimati'",
    )
    await store.flashcards.review(kiri, cards[0], "good", reviewed_at=local_midnight - timedelta(minutes=1))
    await store.flashcards.review(kiri, cards[1], "good", reviewed_at=local_midnight + timedelta(minutes=1))
    queue = await store.flashcards.list_due(kiri, new_per_day=2)
    # one new card started today (cards[1]): one more allowed
    assert [q.flashcard_id for q in queue if q.state == "new"] == [cards[2]]


# -- round trips and races ------------------------------------------------------------------------


@contextmanager
def round_trips(conn: AConn) -> Iterator[list[str]]:
    """The round trips made on `conn` inside the block (ReadyForQuery messages in libpq's trace)."""
    counted: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield counted
        finally:
            conn.pgconn.untrace()
            trace.seek(0)
            counted.extend(line for line in trace.read().splitlines() if "\tReadyForQuery" in line)


async def test_round_trips_per_operation(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        store = AsyncStore.on(conn)
        ana = await make_user(conn, "ana")
        set_id, cards = await deck(store, ana, "a", "b", "c")
        expected: dict[str, tuple[Callable[[], Awaitable[object]], int]] = {
            "import_set": (lambda: store.flashcards.import_set(ana, "More", [("x", "y")] * 50), 1),
            "add_card": (lambda: store.flashcards.add_card(ana, set_id, "d", "e", position=0), 1),
            "move_card": (lambda: store.flashcards.move_card(ana, cards[0], None), 1),
            "reorder_cards": (lambda: store.flashcards.reorder_cards(ana, set_id, []), 1),
            "review": (lambda: store.flashcards.review(ana, cards[1], "good"), 2),
            "list_due": (lambda: store.flashcards.list_due(ana), 1),
            "replay": (lambda: store.flashcards.replay(ana, cards[1]), 1),
        }
        for name, (operation, trips_expected) in expected.items():
            with round_trips(conn) as trips:
                try:
                    await operation()
                except InvalidValue:
                    assert name == "reorder_cards"  # refused by the database, still one trip
            assert len(trips) == trips_expected, (name, trips)


async def test_two_concurrent_reviews_of_one_card_both_count(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        ana = await make_user(conn, "ana")
    async with await learnstore.connect_async(fresh_db, max_size=6) as store:
        _, cards = await deck(store, ana, *(f"c{i}" for i in range(4)))
        for card in cards:
            # two tabs, the same card, the same instant: a first review racing a first review
            results = await asyncio.gather(
                *(store.flashcards.review(ana, card, grade) for grade in ("good", "again"))
            )
            assert sorted(r.repetitions for r in results) == [1, 2]
            more = await asyncio.gather(*(store.flashcards.review(ana, card, "hard") for _ in range(4)))
            assert sorted(r.repetitions for r in more) == [3, 4, 5, 6]
            log = await store.flashcards.list_reviews(ana, card)
            assert [r.review_number for r in log] == [1, 2, 3, 4, 5, 6]
            assert log[1].state_before == log[0].state_after  # the second saw the first's state
            final = await store.flashcards.get_progress(ana, card)
            assert final is not None and final.repetitions == 6
            assert await store.flashcards.replay(ana, card) == CardSchedule.of(final)


# -- the sync twin --------------------------------------------------------------------------------


def test_the_sync_store_studies_a_deck(db_conn: psycopg.Connection[Any]) -> None:
    store = Store.on(db_conn)
    db_conn.execute("INSERT INTO users (clerk_id) VALUES ('sync')")
    imported = store.flashcards.import_set("sync", "Sync", [("one", "um"), ("two", "dois")])
    queue = store.flashcards.list_due("sync")
    assert [q.front for q in queue] == ["one", "two"]
    progress = store.flashcards.review("sync", queue[0].flashcard_id, "easy", reviewed_at=START)
    assert (progress.state, progress.repetitions) == ("review", 1)
    # the sync twin has its own copy of the model
    assert store.flashcards.replay("sync", queue[0].flashcard_id) == SyncCardSchedule.of(progress)
    assert store.flashcards.get_set("sync", imported.set.id).card_count == 2


# -- the migration, on a database that already holds cards ------------------------------------------


def test_migration_0007_numbers_existing_cards_in_creation_order(fresh_db: str) -> None:
    ids = [state.id for state in status(fresh_db)]
    mine = next(i for i in ids if i.startswith("0007"))
    rollback(fresh_db, to=ids[ids.index(mine) - 1])
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("INSERT INTO users (clerk_id) VALUES ('old')")
        set_id = conn.execute(
            "INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES ('old', 'Old') RETURNING id"
        ).fetchone()[0]  # type: ignore[index]
        for i, created in enumerate(("2024-01-03", "2024-01-01", "2024-01-02")):
            conn.execute(
                "INSERT INTO flashcards (set_id, front, back, created_at) VALUES (%s, %s, 'b', %s)",
                [set_id, f"card {i}", created],
            )
        conn.execute(
            "INSERT INTO user_flashcard_progress (user_clerk_id, flashcard_id)"
            " SELECT 'old', id FROM flashcards LIMIT 1"
        )
    assert mine in upgrade(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT front, position FROM flashcards ORDER BY position").fetchall()
        state = conn.execute("SELECT state, stability FROM user_flashcard_progress").fetchone()
    assert rows == [("card 1", 0), ("card 2", 1), ("card 0", 2)]
    assert state == ("new", None)


async def test_concurrent_adds_moves_and_deletes_keep_a_sets_order_dense(fresh_db: str) -> None:
    async with await psycopg.AsyncConnection.connect(fresh_db, autocommit=True) as conn:
        ana = await make_user(conn, "ana")
    async with await learnstore.connect_async(fresh_db, max_size=8) as store:
        set_id, cards = await deck(store, ana, *(f"c{i}" for i in range(12)))
        rng = random.Random(7)
        operations = [
            *(
                store.flashcards.add_card(ana, set_id, f"new {i}", "x", position=rng.randint(0, 5))
                for i in range(8)
            ),
            *(
                store.flashcards.move_card(ana, card, rng.randint(0, 7)) for card in cards[:6]
            ),  # 8 cards at least
            *(store.flashcards.delete_card(ana, card) for card in cards[6:10]),
            *(store.flashcards.review(ana, card, "good") for card in cards[:4]),
        ]
        rng.shuffle(operations)
        await asyncio.gather(*operations)
        final = await store.flashcards.list_cards(ana, set_id)
    assert [c.position for c in final] == list(range(12 + 8 - 4))
    assert {c.front for c in final} == {f"c{i}" for i in (*range(6), 10, 11)} | {f"new {i}" for i in range(8)}


async def test_a_refused_review_inside_a_transaction_leaves_it_usable(
    store: AsyncStore, adb_conn: AConn
) -> None:
    ana = await make_user(adb_conn, "ana")
    _, (card, *_) = await deck(store, ana, "one")
    async with store.transaction() as tx:
        with pytest.raises(NotFound):
            await tx.flashcards.review(ana, uuid4(), "good")
        progress = await tx.flashcards.review(ana, card, "good", reviewed_at=START)
    assert progress.repetitions == 1
    assert await store.flashcards.replay(ana, card) == CardSchedule.of(progress)
