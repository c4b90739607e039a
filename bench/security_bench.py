"""What `store.as_user()` costs: the same calls on the owner path and as a user, interleaved.

    python -m bench.security_bench --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_rls

The database is created (and migrated) when missing; the rows it needs are made on each run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from learnstore import Store
from learnstore.migrate import upgrade

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/learnstore_bench_rls"


def ensure_database(dsn: str) -> None:
    name = conninfo_to_dict(dsn)["dbname"]
    server = make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
    upgrade(dsn)


def seed(store: Store, clerk_id: str) -> UUID:
    """A learner enrolled in a two-lesson course, with a goal; the lesson the bench flips."""
    store.users.apply_clerk_event({"type": "user.created", "data": {"id": clerk_id, "updated_at": 1}})
    course = store.content.create_course(clerk_id, f"Bench {clerk_id}")
    unit = store.content.add_unit(course.id, "U")
    lesson = store.content.add_lesson(unit.id, "one", "text", {"body": "1"})
    store.content.add_lesson(unit.id, "two", "text", {"body": "2"})
    store.content.publish_course(course.id)
    store.progress.enrol(clerk_id, course.id)
    store.users.create_goal(clerk_id, "a goal")
    return lesson.id


def seed_lists(store: Store, clerk_id: str) -> UUID:
    """50 notifications and a 50-card set of the learner's: the 50-row lists whose policy cost is
    measured (a private table's own-row policy, and a card policy that looks up the card's set)."""
    for i in range(50):
        store.users.notify(clerk_id, "system", f"notice {i}")
    deck = store.flashcards.create_set(clerk_id, "Bench deck")
    for i in range(50):
        store.flashcards.add_card(clerk_id, deck.id, f"front {i}", f"back {i}")
    return deck.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    ensure_database(args.dsn)
    clerk_id = f"bench_{random.randrange(10**9)}"
    statuses = ["completed", "in_progress"]
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        owner = Store.on(conn)
        lesson = seed(owner, clerk_id)
        deck = seed_lists(owner, clerk_id)
        user = owner.as_user(clerk_id)

        def ops(store: Store) -> dict[str, Callable[[int], object]]:
            def unit_of_work(i: int) -> None:
                with store.transaction() as tx:
                    tx.progress.set_lesson_status(clerk_id, lesson, statuses[i % 2])
                    tx.users.list_active_goals(clerk_id)

            def fifty_in_a_transaction(i: int) -> None:
                # Same round trips on both paths: the difference is what the policies cost.
                with store.transaction() as tx:
                    tx.users.list_notifications(clerk_id, limit=50)
                    tx.flashcards.list_cards(clerk_id, deck)

            return {
                "list_notifications (50 rows)": lambda i: store.users.list_notifications(clerk_id, limit=50),
                "flashcards.list_cards (50 rows)": lambda i: store.flashcards.list_cards(clerk_id, deck),
                "both 50-row lists in one transaction": fifty_in_a_transaction,
                "users.get (one row)": lambda i: store.users.get(clerk_id),
                "list_active_goals (private table)": lambda i: store.users.list_active_goals(clerk_id),
                "set_lesson_status (write)": lambda i: store.progress.set_lesson_status(
                    clerk_id, lesson, statuses[i % 2]
                ),
                "transaction of two": unit_of_work,
            }

        owner_ops, user_ops = ops(owner), ops(user)
        rng = random.Random(12)
        print("| operation | owner (µs) | as_user (µs) | ratio |\n|---|---|---|---|")
        for name in owner_ops:
            timings: dict[str, list[float]] = {"owner": [], "as_user": []}
            pair = [("owner", owner_ops[name]), ("as_user", user_ops[name])]
            for i in range(args.warmup + args.rounds):
                rng.shuffle(pair)
                for label, op in pair:
                    start = time.perf_counter()
                    op(i)
                    if i >= args.warmup:
                        timings[label].append(time.perf_counter() - start)
            a = statistics.median(timings["owner"]) * 1e6
            b = statistics.median(timings["as_user"]) * 1e6
            print(f"| {name} | {a:.0f} | {b:.0f} | {b / a:.2f}x |")
        owner.users.erase(clerk_id)


if __name__ == "__main__":
    main()
