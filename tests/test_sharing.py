"""Cloning a course and forking a flashcard set on a real database: what is copied, who may copy
what, under as_user, during an edit of the source, and the time a 1,000-lesson clone takes."""

from __future__ import annotations

import re
import threading
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql as pgsql
from test_content import fetch, make_course, make_user
from test_races import WRITERS, scalar, sql

import learnstore
from learnstore import AsyncStore, Store
from learnstore._resources import queries_dir
from learnstore.errors import InvalidReference, InvalidValue, NotFound, PermissionDenied
from learnstore.queries._loader import parse_dir

AConn = psycopg.AsyncConnection[Any]


@pytest.fixture
def store(adb_conn: AConn) -> AsyncStore:
    return AsyncStore.on(adb_conn)


async def furnished(store: AsyncStore) -> tuple[UUID, dict[str, UUID]]:
    """A published course of author_1's: two units, three lessons, quizzes and media in order, two tags."""
    course, _, lessons = await make_course(store, {"Basics": ["Select", "Where"], "Joins": ["Inner"]})
    select = lessons["Select"].id
    await store.content.add_quiz(select, "mcq", "Which keyword?", "SELECT", options=["SELECT", "GET"])
    await store.content.add_quiz(select, "flashcard", "Rows?", "tuples")
    await store.content.add_media(select, "image", "https://example.com/a.png", title="A")
    await store.content.add_media(lessons["Inner"].id, "audio", "https://example.com/b.mp3")
    await store.catalog.attach_tags(course.id, ["sql", "databases"])
    await store.content.update_course(course.id, description="Learn SQL", learning_objectives=["Query"])
    await store.content.publish_course(course.id)
    return course.id, {title: lesson.id for title, lesson in lessons.items()}


async def shape(conn: AConn, course_id: UUID) -> list[tuple[Any, ...]]:
    """Everything a clone copies, without ids: units, lessons, quizzes and media in order, and tags."""
    rows = await fetch(
        conn,
        """SELECT 'unit', u.position, NULL::int, NULL::int, u.title, u.description FROM units u
           WHERE u.course_id = %(c)s
           UNION ALL
           SELECT 'lesson', u.position, l.position, NULL, l.title, l.content::text
           FROM units u JOIN lessons l ON l.unit_id = u.id WHERE u.course_id = %(c)s
           UNION ALL
           SELECT 'quiz', u.position, l.position, q.position, q.question,
                  q.question_type || q.options::text || q.correct_answer::text
           FROM units u JOIN lessons l ON l.unit_id = u.id JOIN quizzes q ON q.lesson_id = l.id
           WHERE u.course_id = %(c)s
           UNION ALL
           SELECT 'media', u.position, l.position, m.position, m.url, coalesce(m.title, '') || m.media_type
           FROM units u JOIN lessons l ON l.unit_id = u.id JOIN media m ON m.lesson_id = l.id
           WHERE u.course_id = %(c)s
           UNION ALL
           SELECT 'tag', NULL, NULL, NULL, t.name, NULL
           FROM course_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.course_id = %(c)s
           ORDER BY 1, 2, 3, 4, 5""",
        {"c": course_id},
    )
    return rows


# -- cloning a course ---------------------------------------------------------------------------------


async def test_a_clone_is_a_deep_copy_as_a_draft_of_the_cloners(store: AsyncStore, adb_conn: AConn) -> None:
    source, _ = await furnished(store)
    await make_user(store, "cloner")
    clone = await store.sharing.clone_course(source, "cloner")
    original = await store.content.get_course(source)
    assert clone.id != source
    assert (clone.author_clerk_id, clone.status, clone.published_at) == ("cloner", "draft", None)
    assert (clone.title, clone.description, clone.learning_objectives) == (
        original.title,
        original.description,
        original.learning_objectives,
    )
    assert await shape(adb_conn, clone.id) == await shape(adb_conn, source)
    assert len(await shape(adb_conn, clone.id)) == 2 + 3 + 2 + 2 + 2
    # New rows throughout, none shared with the source.
    shared = await fetch(
        adb_conn,
        """SELECT count(*) FROM units a JOIN units b ON a.id = b.id
           WHERE a.course_id = %s AND b.course_id = %s""",
        [clone.id, source],
    )
    assert shared == [(0,)]
    # Enrolments, reviews and the like stay with the source: the clone starts with nobody.
    await store.progress.enrol("cloner", source)
    assert await fetch(adb_conn, "SELECT count(*) FROM user_courses WHERE course_id = %s", [clone.id]) == [
        (0,)
    ]


async def test_a_clone_takes_a_new_title_and_its_author_edits_it_alone(
    store: AsyncStore, adb_conn: AConn
) -> None:
    source, lessons = await furnished(store)
    await make_user(store, "cloner")
    clone = await store.as_user("cloner").sharing.clone_course(source, "cloner", title="My SQL")
    assert clone.title == "My SQL"
    tree = await store.as_user("cloner").content.get_course_tree(clone.id, include_unpublished=True)
    lesson = tree.lessons()[0]
    await store.as_user("cloner").content.update_lesson(lesson.id, title="Mine")
    # The source is untouched.
    assert (await store.content.get_lesson(lessons["Select"])).title == "Select"


async def test_who_may_clone_what(store: AsyncStore) -> None:
    source, _ = await furnished(store)
    for clerk_id in ("stranger", "editor", "reviewer"):
        await make_user(store, clerk_id)
    draft = await store.content.create_course("author_1", "Draft")
    await store.collaboration.invite_collaborator(draft.id, "author_1", "reviewer", "reviewer")
    await store.collaboration.respond_to_invitation(draft.id, "reviewer", accept=True)
    # A published course: anyone. A draft: its author and team; anyone else does not see it.
    assert (await store.as_user("stranger").sharing.clone_course(source, "stranger")).status == "draft"
    assert (await store.as_user("author_1").sharing.clone_course(draft.id, "author_1")).title == "Draft"
    assert (
        await store.as_user("reviewer").sharing.clone_course(draft.id, "reviewer")
    ).author_clerk_id == "reviewer"
    for view in (store, store.as_user("stranger")):
        with pytest.raises(NotFound) as missing:
            await view.sharing.clone_course(draft.id, "stranger")
        assert missing.value.field == "course_id"
    # An archived course: its team only, and the refusal says so.
    await store.content.archive_course(source)
    with pytest.raises(PermissionDenied) as refused:
        await store.as_user("stranger").sharing.clone_course(source, "stranger")
    assert refused.value.field == "course_id"
    assert (await store.as_user("author_1").sharing.clone_course(source, "author_1")).status == "draft"


async def test_a_clone_in_someone_elses_name_is_refused_by_postgresql(
    store: AsyncStore, adb_conn: AConn
) -> None:
    source, _ = await furnished(store)
    await make_user(store, "stranger")
    before = await fetch(adb_conn, "SELECT count(*) FROM courses")
    with pytest.raises(PermissionDenied):
        await store.as_user("stranger").sharing.clone_course(source, "author_1")
    # Past the repository's check, straight to the function: PostgreSQL refuses it too.
    async with adb_conn.transaction(force_rollback=True):
        await adb_conn.execute(
            "SELECT set_config('role', 'learnstore_app', true),"
            " set_config('learnstore.clerk_id', 'stranger', true)"
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await adb_conn.execute("SELECT clone_course(%s, 'author_1', NULL)", [source])
    assert await fetch(adb_conn, "SELECT count(*) FROM courses") == before


async def test_bad_input_names_its_field_and_writes_nothing(store: AsyncStore, adb_conn: AConn) -> None:
    source, _ = await furnished(store)
    before = await fetch(adb_conn, "SELECT count(*) FROM courses")
    with pytest.raises(NotFound) as missing:
        await store.sharing.clone_course(uuid4(), "author_1")
    assert missing.value.field == "course_id"
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.clone_course(source, "author_1", title=" ")
    assert bad.value.field == "title"
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.clone_course(source, "")
    assert bad.value.field == "clerk_id"
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.clone_course("not a uuid", "author_1")  # type: ignore[arg-type]
    assert bad.value.field == "course_id"
    with pytest.raises(InvalidReference) as unknown:
        await store.sharing.clone_course(source, "nobody")
    assert unknown.value.field == "author_clerk_id"
    assert await fetch(adb_conn, "SELECT count(*) FROM courses") == before


async def test_a_clone_is_one_statement_and_its_audit_names_the_cloner(
    store: AsyncStore, adb_conn: AConn
) -> None:
    source, _ = await furnished(store)
    await make_user(store, "cloner")
    clone = await store.as_user("cloner").sharing.clone_course(source, "cloner")
    entries = await fetch(
        adb_conn,
        "SELECT table_name, count(*), min(actor_clerk_id) FROM audit_log"
        " WHERE course_id = %s GROUP BY 1 ORDER BY 1",
        [clone.id],
    )
    assert entries == [
        ("courses", 1, "cloner"),
        ("lessons", 3, "cloner"),
        ("media", 2, "cloner"),
        ("quizzes", 2, "cloner"),
        ("units", 2, "cloner"),
    ]


# -- forking a set ------------------------------------------------------------------------------------


async def test_a_fork_copies_the_cards_in_order_and_names_its_source(
    store: AsyncStore, adb_conn: AConn
) -> None:
    await make_user(store, "owner")
    await make_user(store, "forker")
    language = await store.catalog.create_language("pt", "Portuguese")
    deck = await store.flashcards.create_set("owner", "Verbs", description="Common verbs", is_public=True)
    await adb_conn.execute("UPDATE flashcard_sets SET language_id = %s WHERE id = %s", [language.id, deck.id])
    for front, back in [("ser", "to be"), ("ter", "to have"), ("ir", "to go")]:
        await store.flashcards.add_card("owner", deck.id, front, back)
    await store.flashcards.move_card("owner", (await store.flashcards.list_cards("owner", deck.id))[2].id, 0)
    fork = await store.as_user("forker").sharing.fork_set(deck.id, "forker")
    assert (fork.owner_clerk_id, fork.forked_from, fork.is_public) == ("forker", deck.id, False)
    assert (fork.title, fork.description, fork.language_id) == ("Verbs", "Common verbs", language.id)
    cards = [(c.front, c.back, c.position) for c in await store.flashcards.list_cards("forker", fork.id)]
    assert cards == [
        (c.front, c.back, c.position) for c in await store.flashcards.list_cards("owner", deck.id)
    ]
    assert [front for front, *_ in cards] == ["ir", "ser", "ter"]
    # The fork is the forker's to change; the source is not.
    await store.as_user("forker").flashcards.add_card("forker", fork.id, "ver", "to see")
    assert len(await store.flashcards.list_cards("owner", deck.id)) == 3
    # Deleting the source keeps the fork, its link cleared.
    await store.flashcards.delete_set("owner", deck.id)
    rows = await fetch(adb_conn, "SELECT forked_from FROM flashcard_sets WHERE id = %s", [fork.id])
    assert rows == [(None,)]


async def test_a_private_set_is_forked_by_its_owner_only(store: AsyncStore, adb_conn: AConn) -> None:
    await make_user(store, "owner")
    await make_user(store, "forker")
    deck = await store.flashcards.create_set("owner", "Private")
    await store.flashcards.add_card("owner", deck.id, "a", "b")
    before = await fetch(adb_conn, "SELECT count(*) FROM flashcard_sets")
    for view in (store, store.as_user("forker")):
        with pytest.raises(NotFound) as missing:
            await view.sharing.fork_set(deck.id, "forker")
        assert missing.value.field == "set_id"
    with pytest.raises(PermissionDenied):
        await store.as_user("forker").sharing.fork_set(deck.id, "owner")
    assert await fetch(adb_conn, "SELECT count(*) FROM flashcard_sets") == before
    mine = await store.as_user("owner").sharing.fork_set(deck.id, "owner", title="Private, again")
    assert (mine.title, mine.forked_from) == ("Private, again", deck.id)


# -- races and size -----------------------------------------------------------------------------------


def test_a_clone_during_edits_of_the_source_is_a_consistent_snapshot(fresh_db: str) -> None:
    """16 writers at once on their own connections: half clone the course, the other half each, in one
    transaction, add a lesson and rename the unit, every lesson and every quiz after themselves. Each
    clone must show one state of the source whole: one name throughout, and the lessons that state had."""
    sql(fresh_db, "INSERT INTO users (clerk_id) VALUES ('author'), ('cloner')")
    course_id = scalar(
        fresh_db,
        "INSERT INTO courses (author_clerk_id, title, status, published_at)"
        " VALUES ('author', 'C', 'published', now()) RETURNING id",
    )
    unit_id = scalar(
        fresh_db,
        "INSERT INTO units (course_id, title, position) VALUES (%s, 'start', 0) RETURNING id",
        [course_id],
    )
    sql(
        fresh_db,
        "INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ SELECT %s, 'start', 'text', '{"body": "x"}', i FROM generate_series(0, 199) AS i""",
        [unit_id],
    )
    sql(
        fresh_db,
        "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer)"
        " SELECT id, 'start', 'flashcard', '\"a\"' FROM lessons",
    )
    barrier = threading.Barrier(WRITERS)
    clones: list[UUID] = []
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            with psycopg.connect(fresh_db) as conn:
                barrier.wait()
                if index % 2:
                    clones.append(Store.on(conn).sharing.clone_course(course_id, "cloner").id)
                else:
                    name = f"w{index}"
                    conn.execute(
                        """SELECT add_lesson(%s, %s, 'text', '{"body": "y"}', NULL, 0)""", [unit_id, name]
                    )
                    conn.execute("UPDATE units SET title = %s WHERE id = %s", [name, unit_id])
                    conn.execute("UPDATE lessons SET title = %s WHERE unit_id = %s", [name, unit_id])
                    conn.execute(
                        "UPDATE quizzes SET question = %s"
                        " WHERE lesson_id IN (SELECT id FROM lessons WHERE unit_id = %s)",
                        [name, unit_id],
                    )
                conn.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(clones) == WRITERS // 2
    for clone_id in clones:
        rows = sql(
            fresh_db,
            "SELECT u.title, l.title, l.position, q.question FROM units u JOIN lessons l ON l.unit_id = u.id"
            " LEFT JOIN quizzes q ON q.lesson_id = l.id WHERE u.course_id = %s ORDER BY l.position",
            [clone_id],
        )
        names = {unit for unit, *_ in rows} | {lesson for _, lesson, *_ in rows}
        names |= {question for *_, question in rows if question is not None}
        assert len(names) == 1, names  # one committed state, whole: never half of a rename
        assert [position for _, _, position, _ in rows] == list(range(len(rows)))
        if names == {"start"}:
            assert len(rows) == 200
        else:
            assert 201 <= len(rows) <= 200 + WRITERS // 2


def test_a_1000_lesson_course_clones_whole(fresh_db: str) -> None:
    sql(fresh_db, "INSERT INTO users (clerk_id) VALUES ('author'), ('cloner')")
    course_id = scalar(
        fresh_db,
        "INSERT INTO courses (author_clerk_id, title, status, published_at)"
        " VALUES ('author', 'Big', 'published', now()) RETURNING id",
    )
    sql(
        fresh_db,
        "INSERT INTO units (course_id, title, position) SELECT %s, 'U' || i, i FROM generate_series(0, 49) i",
        [course_id],
    )
    sql(
        fresh_db,
        "INSERT INTO lessons (unit_id, title, content_type, content, position)"
        """ SELECT u.id, 'L' || i, 'text', '{"body": "x"}', i FROM units u, generate_series(0, 19) i"""
        " WHERE u.course_id = %s",
        [course_id],
    )
    sql(
        fresh_db,
        "INSERT INTO quizzes (lesson_id, question, question_type, correct_answer, position)"
        """ SELECT l.id, 'Q', 'flashcard', '"a"', 0 FROM lessons l""",
    )
    sql(
        fresh_db,
        "INSERT INTO media (lesson_id, media_type, url, position)"
        " SELECT id, 'image', 'https://e.com/x.png', 0 FROM lessons",
    )
    with learnstore.connect(fresh_db, max_size=1) as store:
        clone = store.as_user("cloner").sharing.clone_course(course_id, "cloner")
    counts = sql(
        fresh_db,
        "SELECT count(DISTINCT l.id), count(DISTINCT q.id), count(DISTINCT m.id) FROM units u"
        " JOIN lessons l ON l.unit_id = u.id JOIN quizzes q ON q.lesson_id = l.id"
        " JOIN media m ON m.lesson_id = l.id"
        " WHERE u.course_id = %s",
        [clone.id],
    )
    assert counts == [(1000, 1000, 1000)]


# -- browsing sets ------------------------------------------------------------------------------------


async def sets_to_browse(store: AsyncStore, adb_conn: AConn) -> dict[str, UUID]:
    """Ana's public Portuguese verbs and nouns (the nouns on a course), her private set, Bo's public
    French verbs; created in that order, a second apart."""
    await make_user(store, "ana", "Ana")
    await make_user(store, "bo", "Bo")
    pt = (await store.catalog.create_language("pt", "Portuguese")).id
    fr = (await store.catalog.create_language("fr", "French")).id
    course, _, _ = await make_course(store, {"U": ["L"]}, author="ana")
    made = {
        "verbs": await store.flashcards.create_set(
            "ana", "Portuguese verbs", description="ser, ter", is_public=True
        ),
        "nouns": await store.flashcards.create_set(
            "ana", "Portuguese nouns", description="casa", is_public=True, course_id=course.id
        ),
        "private": await store.flashcards.create_set("ana", "My verbs", description="verbs"),
        "french": await store.flashcards.create_set("bo", "French verbs", description="être", is_public=True),
    }
    for i, (name, card_set) in enumerate(made.items()):
        language = fr if name == "french" else pt
        await adb_conn.execute(
            "UPDATE flashcard_sets SET language_id = %s, created_at = now() - make_interval(secs => %s)"
            " WHERE id = %s",
            [language, 10 - i, card_set.id],
        )
    for _ in range(2):
        await store.flashcards.add_card("ana", made["verbs"].id, "ser", "to be")
    return {"pt": pt, "fr": fr, "course": course.id, **{name: s.id for name, s in made.items()}}


async def test_browsing_public_sets_newest_first_with_filters(store: AsyncStore, adb_conn: AConn) -> None:
    ids = await sets_to_browse(store, adb_conn)
    rows = await store.sharing.browse_sets()
    assert [r.id for r in rows] == [ids["french"], ids["nouns"], ids["verbs"]]  # never a private one
    verbs = rows[2]
    assert (verbs.card_count, verbs.owner_name, verbs.language_id) == (2, "Ana", ids["pt"])
    assert [r.id for r in await store.sharing.browse_sets(text="verbs")] == [ids["french"], ids["verbs"]]
    assert [r.id for r in await store.sharing.browse_sets(text="casa")] == [ids["nouns"]]  # the description
    assert [r.id for r in await store.sharing.browse_sets(text="verbs", language_id=ids["pt"])] == [
        ids["verbs"]
    ]
    assert [r.id for r in await store.sharing.browse_sets(course_id=ids["course"])] == [ids["nouns"]]
    assert await store.sharing.browse_sets(text="nothing-like-this") == []
    assert [r.id for r in await store.sharing.browse_sets(text="  ")] == [r.id for r in rows]
    # Keyset pages: two, then the rest.
    first = await store.sharing.browse_sets(limit=2)
    second = await store.sharing.browse_sets(limit=2, before=first[-1])
    assert [r.id for r in first + second] == [r.id for r in rows]
    with pytest.raises(InvalidValue) as bad:
        await store.sharing.browse_sets(limit=0)
    assert bad.value.field == "limit"
    # Under as_user the same: public sets only, whoever looks.
    assert [r.id for r in await store.as_user("bo").sharing.browse_sets()] == [r.id for r in rows]


async def test_an_owners_sets_with_a_search_term(store: AsyncStore, adb_conn: AConn) -> None:
    ids = await sets_to_browse(store, adb_conn)
    mine = await store.sharing.owner_sets("ana", viewer_clerk_id="ana")
    assert [r.id for r in mine] == [ids["private"], ids["nouns"], ids["verbs"]]
    theirs = await store.sharing.owner_sets("ana", viewer_clerk_id="bo")
    assert [r.id for r in theirs] == [ids["nouns"], ids["verbs"]]
    assert [r.id for r in await store.sharing.owner_sets("ana")] == [ids["nouns"], ids["verbs"]]
    assert [r.id for r in await store.sharing.owner_sets("ana", viewer_clerk_id="ana", text="verbs")] == [
        ids["private"],
        ids["verbs"],
    ]
    assert [r.id for r in await store.as_user("ana").sharing.owner_sets("ana", text="verbs")] == [
        ids["private"],
        ids["verbs"],
    ]
    assert [r.id for r in await store.as_user("bo").sharing.owner_sets("ana", text="verbs")] == [ids["verbs"]]
    page = await store.sharing.owner_sets("ana", viewer_clerk_id="ana", limit=1)
    assert [r.id for r in await store.sharing.owner_sets("ana", viewer_clerk_id="ana", before=page[0])] == [
        ids["nouns"],
        ids["verbs"],
    ]
    assert await store.sharing.owner_sets("nobody") == []
    with pytest.raises(PermissionDenied):
        await store.as_user("bo").sharing.owner_sets("ana", viewer_clerk_id="ana")


def _many_sets(conn: psycopg.Connection[Any]) -> None:
    """5,000 sets of 500 owners, two in three public, one in a hundred titled "rare", every one
    described "words"; a language on every seventh, a course on none; with statistics."""
    conn.execute(
        "INSERT INTO users (clerk_id, first_name) SELECT 'u' || i, 'U' FROM generate_series(1, 500) i"
    )
    conn.execute("INSERT INTO languages (code, name) VALUES ('pt', 'Portuguese')")
    conn.execute(
        "INSERT INTO flashcard_sets (owner_clerk_id, title, description, is_public, created_at, language_id)"
        " SELECT 'u' || (i % 500 + 1), 'Set ' || i || CASE WHEN i % 100 = 0 THEN ' rare' ELSE '' END,"
        " 'words', i % 3 > 0, now() - make_interval(secs => i),"
        " CASE WHEN i % 7 = 0 THEN (SELECT id FROM languages) END FROM generate_series(1, 5000) i"
    )
    conn.execute(
        "UPDATE flashcard_sets SET learners = id_rank % 40 FROM (SELECT id AS sid, row_number()"
        " OVER (ORDER BY id) AS id_rank FROM flashcard_sets) r WHERE r.sid = flashcard_sets.id"
    )
    conn.execute("ANALYZE")


_BROWSE_DEFAULTS: dict[str, Any] = {
    "text_query": None,
    "language_id": None,
    "course_id": None,
    "before_created_at": None,
    "before_learners": None,
    "before_id": None,
    "page_size": 20,
    "owner_clerk_id": "u7",
    "include_private": True,
}


def test_browsing_reads_the_indexes_not_the_table(fresh_db: str) -> None:
    """On 5,000 sets with statistics, each browse and search is served by an index, with custom and
    with generic plans (a prepared statement's after five runs); a public browse, newest or most used
    first, walks its index in order from the keyset and never reads every public set to sort them
    (the generic plan of `$1 IS NULL OR ...` filters did: 4 ms for a first page)."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        _many_sets(conn)
        queries = {q.name: q for q in parse_dir(queries_dir())}
        walks = {
            "SearchPublicFlashcardSets": "flashcard_sets_public_created_idx",
            "SearchPublicFlashcardSetsByLearners": "flashcard_sets_public_learners_idx",
        }
        cases: list[tuple[str, dict[str, Any]]] = [
            *((name, {"text_query": text}) for name in walks for text in (None, "rare", "words")),
            ("SearchOwnerFlashcardSets", {"text_query": "rare"}),
            ("SearchOwnerFlashcardSets", {"text_query": None}),
        ]
        for name, params in cases:
            text = queries[name].psycopg_sql
            values = {**_BROWSE_DEFAULTS, **params}
            custom = conn.execute(f"EXPLAIN {text}".encode(), values).fetchall()
            for plan in (custom, generic_plan(conn, text, values)):
                lines = "\n".join(row[0] for row in plan)
                assert "Seq Scan on flashcard_sets" not in lines, (name, params, lines)
                assert "Seq Scan on users" not in lines, (name, params, lines)
                assert "flashcard_sets_" in lines, lines  # one of its indexes
                if name in walks:
                    assert f"Index Scan using {walks[name]}" in lines, (name, params, lines)
                    assert f"Bitmap Index Scan on {walks[name]}" not in lines, (name, params, lines)
                    assert "Index Cond: (to_tsvector" in lines, (name, params, lines)  # the few: GIN


# What a public browse returns, written the obvious way: the statements must return exactly this
# whichever way they take to the page, with custom plans and with the generic one.
_OBVIOUS_BROWSE = """
SELECT s.id FROM flashcard_sets s
WHERE s.is_public
  AND (%(text_query)s::text IS NULL OR to_tsvector('simple', s.title || ' ' || s.description)
                                       @@ websearch_to_tsquery('simple', %(text_query)s::text))
  AND (%(language_id)s::uuid IS NULL OR s.language_id = %(language_id)s::uuid)
  AND (%(before_id)s::uuid IS NULL OR (s.{key}, s.id) < (%(before)s, %(before_id)s::uuid))
ORDER BY s.{key} DESC, s.id DESC LIMIT %(page_size)s"""


def test_every_way_to_a_public_page_returns_what_the_obvious_query_does(fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        _many_sets(conn)
        row = conn.execute("SELECT id FROM languages").fetchone()
        assert row is not None
        language = row[0]
        queries = {q.name: q for q in parse_dir(queries_dir())}
        orders = {
            "SearchPublicFlashcardSets": "created_at",
            "SearchPublicFlashcardSetsByLearners": "learners",
        }
        compared = 0
        for name, column in orders.items():
            text = queries[name].psycopg_sql
            for words in (None, "rare", "words", "set -rare", '"set 42"', "nothing-like-this"):
                for language_id in (None, language):
                    values = {**_BROWSE_DEFAULTS, "text_query": words, "language_id": language_id}
                    first = [r[0] for r in conn.execute(text, values).fetchall()]
                    # the next page from the first's last row, as browse_sets passes it
                    if first:
                        last = conn.execute(
                            f"SELECT {column}, id FROM flashcard_sets WHERE id = %s", [first[-1]]
                        ).fetchone()
                        assert last is not None
                        values[f"before_{column}"], values["before_id"] = last
                    for page_values in (
                        {**values, "before_created_at": None, "before_learners": None, "before_id": None},
                        values,
                    ):
                        obvious = [
                            r[0]
                            for r in conn.execute(
                                _OBVIOUS_BROWSE.format(key=column),
                                {**page_values, "before": page_values[f"before_{column}"]},
                            ).fetchall()
                        ]
                        for mode in ("force_custom_plan", "force_generic_plan"):
                            got = _prepared_rows(conn, text, page_values, mode)
                            assert got == obvious, (name, words, language_id, mode)
                            compared += bool(obvious)
        assert compared > 20  # most cases have rows to compare


def generic_plan(conn: psycopg.Connection[Any], text: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The generic plan of a query (what a prepared statement may switch to after five runs)."""
    return _prepared_plan(conn, text, values, mode="force_generic_plan", runs=1)


def _prepared_rows(conn: psycopg.Connection[Any], text: str, values: dict[str, Any], mode: str) -> list[Any]:
    """The first column of what a prepared statement returns under `mode` (plan_cache_mode)."""
    return [row[0] for row in _prepared_plan(conn, text, values, mode=mode, runs=1, explain=False)]


def settled_plan(conn: psycopg.Connection[Any], text: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The plan a prepared statement runs once PostgreSQL has chosen between custom and generic plans:
    after five custom plans it keeps the generic one only if that costs no more than they did."""
    return _prepared_plan(conn, text, values, mode="auto", runs=6)


def _prepared_plan(
    conn: psycopg.Connection[Any],
    text: str,
    values: dict[str, Any],
    *,
    mode: str,
    runs: int,
    explain: bool = True,
) -> list[tuple[Any, ...]]:
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    statement = re.sub(r"%\((\w+)\)s", placeholder, text).replace("%%", "%")
    with conn.transaction(force_rollback=True):
        conn.execute(pgsql.SQL("SET LOCAL plan_cache_mode = {}").format(pgsql.Literal(mode)))
        conn.execute(f"PREPARE browse_plan AS {statement}".encode())
        args = pgsql.SQL(", ").join(pgsql.Literal(values[n]) for n in names)
        # EXPLAIN EXECUTE goes through the plan cache as EXECUTE does, so each run counts.
        for _ in range(runs):
            run = pgsql.SQL("EXPLAIN EXECUTE" if explain else "EXECUTE")
            plan = conn.execute(pgsql.SQL("{} browse_plan ({})").format(run, args)).fetchall()
        conn.execute("DEALLOCATE browse_plan")
    return plan


async def test_a_users_clones_and_forks_are_in_their_export_and_go_with_their_erasure(
    store: AsyncStore, adb_conn: AConn
) -> None:
    source, _ = await furnished(store)
    await make_user(store, "cloner")
    deck = await store.flashcards.create_set("author_1", "Deck", is_public=True)
    await store.flashcards.add_card("author_1", deck.id, "a", "b")
    clone = await store.sharing.clone_course(source, "cloner")
    fork = await store.sharing.fork_set(deck.id, "cloner")
    document = await store.users.export("cloner")
    assert [c["id"] for c in document["courses"]] == [str(clone.id)]
    assert [(s["id"], s["forked_from"]) for s in document["flashcard_sets"]] == [(str(fork.id), str(deck.id))]
    assert len(document["flashcards"]) == 1
    assert await store.users.erase("cloner")
    # The fork was theirs alone: gone with its cards. The clone is a course: it stays, authorless,
    # as every erased author's course does; the source and its set are untouched.
    assert await fetch(adb_conn, "SELECT count(*) FROM flashcard_sets WHERE id = %s", [fork.id]) == [(0,)]
    assert await fetch(adb_conn, "SELECT author_clerk_id FROM courses WHERE id = %s", [clone.id]) == [(None,)]
    assert len(await store.flashcards.list_cards("author_1", deck.id)) == 1
