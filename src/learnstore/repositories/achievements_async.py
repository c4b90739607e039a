"""The gamification domain: achievements, their evaluation and backfill, profile cards, leaderboards."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter

from learnstore._validation import validated
from learnstore.achievement_rules import Requirement, parse_requirement
from learnstore.database_async import AsyncDatabase
from learnstore.errors import InvalidValue, NotFound, register_messages
from learnstore.queries.gamification import AsyncQuerier
from learnstore.queries.models import Achievement, ListLeaderboardRow, ListUserAchievementsRow
from learnstore.types import INT_MAX, ClerkId, Title, Url

__all__ = [
    "AchievementProgress",
    "AsyncAchievementsRepository",
    "ProfileCard",
]

register_messages(
    {
        "achievements_code_key": "an achievement with this code already exists",
        "achievements_code_format": "code must be 1-64 of a-z, 0-9, _ and -, not starting with _ or -",
        "achievements_requirement_shape": "requirement is not a rule of the requirement language",
        "user_achievements_user_clerk_id_fkey": "no user with this clerk_id",
    }
)

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
# Strict: a bool is not a number of points (False was stored as 0: found by the hostile sweep).
Points = Annotated[StrictInt, Field(ge=0, le=INT_MAX)]


class _NewAchievement(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: Code
    title: Title
    description: Annotated[str, Field(max_length=5000)]
    icon_url: Url | None
    points: Points


class _AchievementChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: Title
    description: Annotated[str, Field(max_length=5000)]
    icon_url: Url | None
    points: Points


class _AchievementId(BaseModel):
    model_config = ConfigDict(frozen=True)

    achievement_id: UUID


class _Learner(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId


class _Leaderboard(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    course_id: UUID | None
    top: Annotated[int, Field(ge=1, le=1000)]


class AchievementProgress(BaseModel):
    """An achievement on a profile card: earned (with `earned_at`), or the progress toward it."""

    model_config = ConfigDict(frozen=True)

    achievement_id: UUID
    code: str
    title: str
    description: str
    icon_url: str | None
    points: int
    earned_at: datetime | None
    progress: int
    """Toward `target`: a counter's count capped at its threshold; all_of adds up its parts, any_of
    is its part nearest to being met. Equals `target` once earned."""
    target: int

    @property
    def earned(self) -> bool:
        return self.earned_at is not None


class ProfileCard(BaseModel):
    """A learner's stats, points and achievements, read in one query."""

    model_config = ConfigDict(frozen=True)

    clerk_id: str
    first_name: str | None
    last_name: str | None
    avatar_url: str | None
    courses_enrolled: int
    courses_completed: int
    lessons_completed: int
    quizzes_passed: int
    """Distinct quizzes answered right at least once."""
    languages_learned: list[str]
    """The language codes of the courses enrolled in."""
    current_streak: int
    """As of now: 0 unless the user was active on their local today or yesterday."""
    longest_streak: int
    points: int
    """The points of the achievements earned."""
    achievements: list[AchievementProgress]
    """Every achievement: earned ones first (newest first), then by share of progress."""


_ACHIEVEMENTS = TypeAdapter(list[Achievement])


class AsyncAchievementsRepository:
    """Achievements and awards. Each method is one statement: one round trip, one transaction."""

    __slots__ = ("_db",)

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db

    # -- the catalogue of achievements -----------------------------------------------------------

    async def create(
        self,
        code: str,
        title: str,
        requirement: Requirement | dict[str, Any],
        *,
        description: str = "",
        icon_url: str | None = None,
        points: int = 0,
    ) -> Achievement:
        """Create an achievement. `requirement` is a rule model or its JSON; an invalid rule is an
        `InvalidValue` naming its path (`requirement.rules.0.threshold`) and writes nothing.
        `AlreadyExists` (field code) for a code in use.

        Nobody is awarded yet: `backfill()` awards it to those who already meet it; from then on
        the writes that can earn it award it as they happen.
        """
        rule = parse_requirement(requirement)
        new = validated(
            _NewAchievement,
            {
                "code": code,
                "title": title,
                "description": description,
                "icon_url": icon_url,
                "points": points,
            },
            "achievement",
        )
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).create_achievement(
                code=new.code,
                title=new.title,
                description=new.description,
                icon_url=new.icon_url,
                points=new.points,
                requirement=rule.model_dump(mode="json", exclude_none=True),
            )
        assert created is not None  # INSERT ... RETURNING returns the row or raises
        return created

    async def get(self, achievement_id: UUID) -> Achievement:
        """The achievement; `NotFound` (field achievement_id) if there is none."""
        found = await self.get_or_none(achievement_id)
        if found is None:
            raise NotFound(f"no achievement with id {achievement_id}", field="achievement_id")
        return found

    async def get_or_none(self, achievement_id: UUID) -> Achievement | None:
        key = validated(_AchievementId, {"achievement_id": achievement_id}, "achievement")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_achievement(id=key.achievement_id)

    async def get_by_code(self, code: str) -> Achievement:
        """The achievement with this code; `NotFound` (field code) if there is none."""
        valid = validated(Code, code, "code")
        async with self._db.connection() as conn:
            found = await AsyncQuerier(conn).get_achievement_by_code(code=valid)
        if found is None:
            raise NotFound(f"no achievement with code {code!r}", field="code")
        return found

    async def list_all(self) -> list[Achievement]:
        """Every achievement, by code."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_achievements()

    async def update(
        self,
        achievement_id: UUID,
        *,
        title: str,
        description: str = "",
        icon_url: str | None = None,
        points: int = 0,
    ) -> Achievement:
        """Change an achievement's title, description, icon and points (the leaderboards follow at
        once); its requirement is fixed, so awards already made stay right. `NotFound` if none."""
        key = validated(_AchievementId, {"achievement_id": achievement_id}, "achievement")
        change = validated(
            _AchievementChange,
            {"title": title, "description": description, "icon_url": icon_url, "points": points},
            "achievement",
        )
        async with self._db.connection() as conn:
            updated = await AsyncQuerier(conn).update_achievement(
                id=key.achievement_id,
                title=change.title,
                description=change.description,
                icon_url=change.icon_url,
                points=change.points,
            )
        if updated is None:
            raise NotFound(f"no achievement with id {key.achievement_id}", field="achievement_id")
        return updated

    async def delete(self, achievement_id: UUID) -> bool:
        """Delete an achievement and every award of it; False if there was none."""
        key = validated(_AchievementId, {"achievement_id": achievement_id}, "achievement")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).delete_achievement(id=key.achievement_id) > 0

    @staticmethod
    def requirement_of(achievement: Achievement) -> Requirement:
        """The achievement's requirement as a rule model."""
        if not isinstance(achievement, Achievement):
            raise InvalidValue(
                f"achievement: must be an Achievement, not {type(achievement).__name__}", field="achievement"
            )
        return parse_requirement(achievement.requirement)

    # -- awarding ---------------------------------------------------------------------------------

    async def evaluate(self, clerk_id: str) -> list[Achievement]:
        """Evaluate every achievement for one user, in SQL, and award the newly met ones, each with
        a notification; returns them (by code). Idempotent and safe to race: an achievement is
        awarded once. The writes that can earn an achievement already evaluate it (see
        docs/gamification.md); call this after changing data with those hooks disabled.
        `NotFound` (field clerk_id) for an unknown user."""
        key = validated(_Learner, {"clerk_id": clerk_id}, "learner")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).score_user_achievements(clerk_id=key.clerk_id)
        if row is None:
            raise NotFound(f"no user with clerk_id {key.clerk_id!r}", field="clerk_id")
        return _ACHIEVEMENTS.validate_python(row.awarded)

    async def backfill(self, achievement_id: UUID) -> int:
        """Evaluate one achievement for every user in one set-based statement and award it (with a
        notification) to everyone who meets it and does not have it yet; returns how many were
        awarded. `NotFound` (field achievement_id) for an unknown achievement."""
        key = validated(_AchievementId, {"achievement_id": achievement_id}, "achievement")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).score_achievement_for_all_users(achievement_id=key.achievement_id)
        if row is None:
            raise NotFound(f"no achievement with id {key.achievement_id}", field="achievement_id")
        return row.awarded

    async def list_earned(self, clerk_id: str) -> list[ListUserAchievementsRow]:
        """The user's awards, newest first (empty for an unknown user)."""
        key = validated(_Learner, {"clerk_id": clerk_id}, "learner")
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_user_achievements(user_clerk_id=key.clerk_id)

    # -- the learner's stats ----------------------------------------------------------------------

    async def get_profile(self, clerk_id: str) -> ProfileCard:
        """The learner's profile card in one query; `NotFound` (field clerk_id) for an unknown user."""
        key = validated(_Learner, {"clerk_id": clerk_id}, "learner")
        async with self._db.connection() as conn:
            row = await AsyncQuerier(conn).get_profile_card(clerk_id=key.clerk_id)
        if row is None:
            raise NotFound(f"no user with clerk_id {key.clerk_id!r}", field="clerk_id")
        return ProfileCard.model_validate(row.model_dump())

    async def leaderboard(
        self, clerk_id: str, *, course_id: UUID | None = None, top: int = 10
    ) -> list[ListLeaderboardRow]:
        """The points leaderboard in one query: the `top` learners (1-1000) who earned something, by
        points, overall or among the learners enrolled in `course_id`, plus the asking user's own
        row (`is_me`) wherever they rank. Ties share a rank (1, 2, 2, 4); a learner without points ranks after
        everyone with points. The asking user is absent only if unknown, or not enrolled in the
        course."""
        key = validated(
            _Leaderboard, {"clerk_id": clerk_id, "course_id": course_id, "top": top}, "leaderboard"
        )
        async with self._db.connection() as conn:
            if key.course_id is None:
                return await AsyncQuerier(conn).list_leaderboard(clerk_id=key.clerk_id, top_n=key.top)
            # a statement of its own, so that each keeps its generic plan (gamification.sql)
            return await AsyncQuerier(conn).list_course_leaderboard(
                clerk_id=key.clerk_id, course_id=key.course_id, top_n=key.top
            )
