"""Load the example service as a user would, over HTTP on the loopback interface, and print requests
per second and latency percentiles per route.

    python load.py --dsn postgresql://postgres@127.0.0.1:5432/learnstore_load --clients 32 --seconds 10
    python load.py --dsn ... --lock 3        # also hold user_courses locked for 3 s mid-run

It migrates the database and loads learnstore's small sample platform into it when it is empty,
serves `main.create_app(dsn)` with uvicorn on 127.0.0.1 (a free port) in this process, and runs
`--clients` HTTP clients for `--seconds` (at most 120): each picks a route in turn (the learner
dashboard, the course tree, notifications, an enrolment, a lesson status) for a learner of its own.
Bounded and local by design: it talks to no host but 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn

from learnstore import migrate, sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from main import create_app

Route = Callable[[httpx.AsyncClient, "Learner"], Awaitable[httpx.Response]]


class Learner:
    """One client's learner: a clerk id, and a published course with its lessons."""

    def __init__(self, clerk_id: str, course_id: str, lessons: list[str]) -> None:
        self.clerk_id, self.course_id, self.lessons = clerk_id, course_id, lessons
        self.turn = 0


def _routes() -> dict[str, Route]:
    def lesson(learner: Learner) -> str:
        learner.turn += 1
        return learner.lessons[learner.turn % len(learner.lessons)]

    return {
        "GET dashboard": lambda http, who: http.get(f"/learners/{who.clerk_id}/dashboard"),
        "GET course tree": lambda http, who: http.get(f"/courses/{who.course_id}/tree"),
        "GET notifications": lambda http, who: http.get(f"/learners/{who.clerk_id}/notifications"),
        "POST enrolment": lambda http, who: http.post(
            f"/learners/{who.clerk_id}/enrolments", json={"course_id": who.course_id}
        ),
        "PUT lesson status": lambda http, who: http.put(
            f"/learners/{who.clerk_id}/lessons/{lesson(who)}/status",
            json={"status": random.choice(["in_progress", "completed"])},
        ),
    }


def prepare(dsn: str, clients: int) -> list[Learner]:
    """Migrate the database, load the sample platform if it is empty, and pick a learner per client."""
    migrate.upgrade(dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM users").fetchone()
        if row is not None and row[0] == 0:
            print("loading learnstore's small sample platform ...", file=sys.stderr)
            sample.load(dsn)
        courses = conn.execute(
            "SELECT c.id::text, array_agg(l.id::text ORDER BY l.id) FROM courses c"
            " JOIN units u ON u.course_id = c.id JOIN lessons l ON l.unit_id = u.id"
            " WHERE c.status = 'published' GROUP BY c.id ORDER BY c.id LIMIT 10"
        ).fetchall()
        users = [
            r[0] for r in conn.execute("SELECT clerk_id FROM users ORDER BY clerk_id LIMIT %s", (clients,))
        ]
    return [Learner(user, *courses[n % len(courses)]) for n, user in enumerate(users)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def hold_lock(dsn: str, after: float, seconds: float) -> None:
    """Hold user_courses locked (ACCESS EXCLUSIVE) for `seconds`, from `after` seconds in."""
    await asyncio.sleep(after)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute("LOCK TABLE user_courses IN ACCESS EXCLUSIVE MODE")
        print(f"holding user_courses locked for {seconds:g} s", file=sys.stderr)
        await asyncio.sleep(seconds)
        await conn.rollback()


async def run(dsn: str, learners: list[Learner], seconds: float, lock: float) -> dict[str, Any]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(dsn), host="127.0.0.1", port=port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn sets a flag; it has no event to wait on)
        await asyncio.sleep(0.05)
    routes = _routes()
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    # The first second warms the pool and the server's caches, and is not counted.
    counted_from = time.perf_counter() + 1.0
    deadline = counted_from + seconds

    async def client(n: int, learner: Learner) -> None:
        names = list(routes)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await routes["POST enrolment"](http, learner)  # so that its lesson statuses are accepted
            turn = n
            while time.perf_counter() < deadline:
                name = names[turn % len(names)]
                turn += 1
                start = time.perf_counter()
                response = await routes[name](http, learner)
                if start >= counted_from:
                    latencies[name].append(time.perf_counter() - start)
                    statuses[name][response.status_code] += 1

    locker = asyncio.create_task(hold_lock(dsn, 1.0 + seconds / 3, lock)) if lock else None
    await asyncio.gather(*(client(n, learner) for n, learner in enumerate(learners)))
    elapsed = time.perf_counter() - counted_from
    if locker is not None:
        await locker
    server.should_exit = True
    await serving
    return {"elapsed": elapsed, "latencies": latencies, "statuses": statuses}


def report(result: dict[str, Any], clients: int) -> str:
    elapsed = result["elapsed"]
    lines = [
        f"{clients} clients, {elapsed:.1f} s, HTTP over 127.0.0.1",
        "",
        "| route | requests | req/s | p50 ms | p99 ms | max ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    total = 0
    for name, values in result["latencies"].items():
        ms = sorted(v * 1000 for v in values)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(result["statuses"][name].items()))
        lines.append(
            f"| {name} | {len(ms)} | {len(ms) / elapsed:.0f} | {statistics.median(ms):.1f} | {p99:.1f}"
            f" | {ms[-1]:.0f} | {codes} |"
        )
        total += len(ms)
    lines.append(f"| all | {total} | {total / elapsed:.0f} | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=os.environ.get("LEARNSTORE_DSN"), help="default: $LEARNSTORE_DSN")
    parser.add_argument("--clients", type=int, default=32, choices=range(1, 257), metavar="1-256")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (at most 120)")
    parser.add_argument("--lock", type=float, default=0.0, help="hold user_courses locked this long mid-run")
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("give --dsn (a database it may fill with the sample platform) or set LEARNSTORE_DSN")
    if not 0 < args.seconds <= 120 or not 0 <= args.lock < args.seconds:
        parser.error("--seconds must be in (0, 120] and --lock shorter than the run")
    learners = prepare(args.dsn, args.clients)
    with contextlib.suppress(KeyboardInterrupt):
        result = asyncio.run(run(args.dsn, learners, args.seconds, args.lock))
        print(report(result, len(learners)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
