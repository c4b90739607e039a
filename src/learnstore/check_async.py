"""The check of derived state: recompute every derived value from its base rows, report the drift,
and (on request) repair it in short batches. `store.check()` and `learnstore check` run it."""

from __future__ import annotations

from typing import Any

from learnstore.database_async import AsyncDatabase
from learnstore.derived import DERIVED_VALUES, CheckReport, DerivedValue, Drift
from learnstore.errors import InvalidValue

__all__ = ["REPAIR_BATCH", "run_check"]

#: Keys repaired per transaction: each batch holds its locks for a few milliseconds, not the
#: length of the whole repair.
REPAIR_BATCH = 500


def _drift_query(value: DerivedValue, sample: float | None) -> str:
    clause = "" if sample is None else f"TABLESAMPLE BERNOULLI ({sample:.6f})"
    return value.drift_sql.replace("{sample}", clause)


async def _drifted(db: AsyncDatabase, value: DerivedValue, sample: float | None, examples: int) -> Drift:
    """How many keys of `value` drift, and the first `examples` of them (ordered by key)."""
    query = (
        f"SELECT count(*) OVER () AS drifted, d.key, d.stored, d.expected"
        f" FROM ({_drift_query(value, sample)}) AS d ORDER BY d.key LIMIT {max(examples, 1)}"
    )
    async with db.connection() as conn:
        cur = await conn.execute(query)
        rows = await cur.fetchall()
    found = Drift(value.name, int(rows[0][0]) if rows else 0)
    found.examples = [{"key": r[1], "stored": r[2], "expected": r[3]} for r in rows[:examples]]
    return found


async def _drifted_keys(db: AsyncDatabase, value: DerivedValue) -> list[str]:
    async with db.connection() as conn:
        cur = await conn.execute(f"SELECT DISTINCT d.key FROM ({_drift_query(value, None)}) AS d ORDER BY 1")
        return [row[0] for row in await cur.fetchall()]


async def _repair(db: AsyncDatabase, value: DerivedValue, batch: int) -> int:
    """Repair every drifted key of `value`, `batch` keys per transaction; how many were repaired."""
    keys = await _drifted_keys(db, value)
    for start in range(0, len(keys), batch):
        params: dict[str, Any] = {"keys": keys[start : start + batch]}
        async for attempt in db.attempts():
            async with attempt as conn:
                for statement in value.repair_sql:
                    await conn.execute(statement, params)
    return len(keys)


async def run_check(
    db: AsyncDatabase,
    *,
    repair: bool = False,
    sample: float | None = None,
    examples: int = 5,
    batch: int = REPAIR_BATCH,
    values: tuple[DerivedValue, ...] = DERIVED_VALUES,
) -> CheckReport:
    """Recompute each derived value from its base rows and report the drift per value.

    `sample`: the percentage (0-100] of driving rows to read, for a quick look on a large database
    (doctor uses it); not with `repair`. `repair`: fix every drifted key, `batch` per transaction,
    then check again. Read-only without `repair`.
    """
    if sample is not None and not 0 < sample <= 100:
        raise InvalidValue(f"sample must be a percentage in (0, 100], not {sample!r}", field="sample")
    if sample is not None and repair:
        raise InvalidValue("a repair needs the whole check, not a sample", field="sample")
    if batch < 1:
        raise InvalidValue(f"batch must be at least 1, not {batch!r}", field="batch")
    report = CheckReport([], sampled=sample)
    for value in values:
        found = await _drifted(db, value, sample, examples)
        if repair and found.drifted:
            found.repaired = await _repair(db, value, batch)
            found.remaining = (await _drifted(db, value, None, 0)).drifted
        elif repair:
            found.remaining = 0
        report.values.append(found)
    return report
