"""What the row-level security policies cost on a 50-row list, measured inside the server.

    python -m bench.policy_cost --dsn postgresql://postgres@127.0.0.1:5432/learnstore_bench_perm

The same 50-row reads, repeated in a loop by PL/pgSQL on the server, as the owner (no policies) and
as learnstore_app with an identity (the policies apply): no round trip is in the difference, only
the policies. Reads a private table (the user's notifications), an anyone-table whose policy is
`true` (a unit's lessons), and the cards of a set, whose policy looks the set up. The rows it needs
are made in a transaction that is rolled back.
"""

from __future__ import annotations

import argparse

import psycopg

LOOP = """
DO $$
DECLARE
    started timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1..%(rounds)s LOOP
        PERFORM * FROM (%(query)s) q;
    END LOOP;
    RAISE NOTICE '%%', extract(epoch FROM clock_timestamp() - started) * 1e6 / %(rounds)s;
END
$$
"""

QUERIES = {
    "50 notifications (private: own rows)": "SELECT * FROM notifications WHERE user_clerk_id = 'bench_policy'"
    " ORDER BY created_at DESC, id DESC LIMIT 50",
    "50 lessons of a unit (anyone)": "SELECT * FROM lessons WHERE unit_id = '{unit}' ORDER BY position",
    "50 cards of a set (own or public set)": "SELECT * FROM flashcards WHERE set_id = '{deck}'"
    " ORDER BY position",
}


def per_call(conn: psycopg.Connection[object], query: str, rounds: int) -> float:
    notices: list[str] = []

    def keep(diag: psycopg.errors.Diagnostic) -> None:
        notices.append(diag.message_primary or "")

    conn.add_notice_handler(keep)
    conn.execute(LOOP.replace("%(rounds)s", str(rounds)).replace("%(query)s", query).replace("%%", "%"))
    conn.remove_notice_handler(keep)
    return float(notices[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    with psycopg.connect(args.dsn) as conn:
        conn.execute("INSERT INTO users (clerk_id) VALUES ('bench_policy')")
        course = conn.execute(
            "INSERT INTO courses (author_clerk_id, title) VALUES ('bench_policy', 'B') RETURNING id"
        ).fetchone()
        assert course is not None
        unit = conn.execute(
            "INSERT INTO units (course_id, title, position) VALUES (%s, 'U', 0) RETURNING id", course
        ).fetchone()
        assert unit is not None
        deck = conn.execute(
            "INSERT INTO flashcard_sets (owner_clerk_id, title) VALUES ('bench_policy', 'D') RETURNING id"
        ).fetchone()
        assert deck is not None
        conn.execute(
            "INSERT INTO notifications (user_clerk_id, type, message)"
            " SELECT 'bench_policy', 'system', 'n' || i FROM generate_series(1, 50) i"
        )
        conn.execute(
            "INSERT INTO lessons (unit_id, title, content_type, content, position)"
            """ SELECT %s, 'L' || i, 'text', '{"body": "b"}', i FROM generate_series(0, 49) i""",
            unit,
        )
        conn.execute(
            "INSERT INTO flashcards (set_id, front, back, position)"
            " SELECT %s, 'f' || i, 'b' || i, i FROM generate_series(0, 49) i",
            deck,
        )
        print("| 50-row read | owner (µs) | as_user, policies (µs) | policy cost (µs) |\n|---|---|---|---|")
        for name, template in QUERIES.items():
            query = template.format(unit=unit[0], deck=deck[0])
            owner = per_call(conn, query, args.rounds)
            conn.execute(
                "SELECT set_config('role', 'learnstore_app', true),"
                " set_config('learnstore.clerk_id', 'bench_policy', true)"
            )
            user = per_call(conn, query, args.rounds)
            conn.execute("RESET ROLE")
            print(f"| {name} | {owner:.1f} | {user:.1f} | {user - owner:+.1f} |")
        conn.rollback()


if __name__ == "__main__":
    main()
