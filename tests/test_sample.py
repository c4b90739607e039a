"""The sample dataset's generator (learnstore.sample): streamed in bounded batches, the same rows
for the same seed, and the whole dataset exactly the batches gathered (no database needed)."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest

from learnstore import sample

LANGUAGES = [UUID(int=n + 1) for n in range(5)]


def _learners(rows: list[object]) -> set[str]:
    return {row[0] if isinstance(row, tuple) else getattr(row, "user_clerk_id", "") for row in rows}


def test_the_stream_is_made_of_batches_of_at_most_one_batch_of_learners(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sample, "LEARNERS_PER_BATCH", 1_000)
    scale = replace(sample.SCALES["small"], users=2_500, name="small-streamed")
    batches = list(sample.stream(scale, LANGUAGES, featured=("user_demo",)))

    tables = [batch.table for batch in batches]
    assert tables.index("users") < tables.index("courses") < tables.index("course_tags")
    assert tables.index("course_tags") < tables.index("progress") < tables.index("login_days")
    assert tables.index("login_days") < tables.index("notifications")
    for batch in batches:
        if batch.table in ("enrolments", "progress", "login_days", "notifications"):
            # the featured learner rides with the first batch of learners
            assert len(_learners(batch.rows)) <= sample.LEARNERS_PER_BATCH + 1, batch.table
        if batch.table == "users":
            assert len(batch.rows) <= sample.USERS_PER_BATCH
        if batch.table == "courses":
            assert len(batch.rows) <= sample.COURSES_PER_BATCH
    progress = [batch for batch in batches if batch.table == "progress" and batch.rows]
    assert len(progress) == 3  # 2,500 learners, 1,000 a batch
    assert sum(len(batch.rows) for batch in progress) > 0.8 * scale.progress_rows


def test_the_dataset_is_the_stream_gathered_and_the_same_seed_gives_the_same_rows() -> None:
    scale = sample.SCALES["small"]
    data = sample.generate(scale, LANGUAGES)
    again = sample.generate(scale, LANGUAGES)
    other = sample.generate(scale, LANGUAGES, seed=sample.SEED + 1)

    gathered: dict[str, list[object]] = {}
    for batch in sample.stream(scale, LANGUAGES):
        gathered.setdefault(batch.table, []).extend(batch.rows)
    for table, rows in gathered.items():
        assert getattr(data, table) == rows, table
    assert data.progress == again.progress and data.users == again.users
    assert [c.id for c in data.courses] == [c.id for c in again.courses]
    assert data.progress != other.progress
    assert len(data.progress) > 0.8 * scale.progress_rows
    assert sample.estimated_rows(scale) > len(data.progress) + len(data.enrolments)
