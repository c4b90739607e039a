"""The language of `achievements.requirement`: typed rules, and validation that names the bad path.

A requirement is one rule, stored as JSON with a `kind`:

- a counter with a `threshold` (a positive integer): `lessons_completed` (optionally only in one
  `course_id`), `courses_completed`, `streak_days` (the `current` or, by default, the `longest`
  streak), `flashcards_reviewed` (distinct cards reviewed at least once), `cards_mastered` (cards
  whose mastery is at least `level`, 4 by default), `quizzes_passed` (distinct quizzes answered
  right at least once), `forum_posts`, `forum_replies`, `likes_received` (on the user's posts and
  replies), `goals_completed`;
- a combination: `all_of` / `any_of` with a non-empty list of `rules`.

The same language is checked again by the database (`achievement_requirement_is_valid`, in the
`achievements_requirement_shape` CHECK), so plain SQL cannot store a rule the evaluator would not
understand; these models exist to reject it earlier, with the path of the offending part.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from learnstore.errors import InvalidValue
from learnstore.types import INT_MAX

__all__ = [
    "COUNTER_KINDS",
    "MASTERED_LEVEL",
    "MAX_DEPTH",
    "MAX_RULES",
    "AllOf",
    "AnyOf",
    "CardsMastered",
    "CoursesCompleted",
    "FlashcardsReviewed",
    "ForumPosts",
    "ForumReplies",
    "GoalsCompleted",
    "LessonsCompleted",
    "LikesReceived",
    "QuizzesPassed",
    "Requirement",
    "StreakDays",
    "parse_requirement",
]

MASTERED_LEVEL: Final = 4
"""The mastery (0-5) from which a card counts as mastered, unless a rule says otherwise."""
MAX_DEPTH: Final = 4
"""How deeply all_of / any_of may nest (a rule on its own is depth 1)."""
MAX_RULES: Final = 20
"""How many rules one all_of / any_of may combine."""

Threshold = Annotated[int, Field(ge=1, le=INT_MAX, strict=True)]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LessonsCompleted(_Rule):
    """Completed lessons, in any course or only in `course_id`."""

    kind: Literal["lessons_completed"] = "lessons_completed"
    threshold: Threshold
    course_id: UUID | None = None


class CoursesCompleted(_Rule):
    """Enrolments whose progress reached 100 (`completed_at` set)."""

    kind: Literal["courses_completed"] = "courses_completed"
    threshold: Threshold


class StreakDays(_Rule):
    """Consecutive active days: the `longest` streak ever (the default) or the `current` one."""

    kind: Literal["streak_days"] = "streak_days"
    threshold: Threshold
    streak: Literal["current", "longest"] = "longest"


class FlashcardsReviewed(_Rule):
    """Distinct flashcards reviewed at least once."""

    kind: Literal["flashcards_reviewed"] = "flashcards_reviewed"
    threshold: Threshold


class CardsMastered(_Rule):
    """Flashcards whose mastery (0-5) is at least `level`."""

    kind: Literal["cards_mastered"] = "cards_mastered"
    threshold: Threshold
    level: Annotated[int, Field(ge=1, le=5, strict=True)] = MASTERED_LEVEL


class QuizzesPassed(_Rule):
    """Distinct quizzes answered right at least once."""

    kind: Literal["quizzes_passed"] = "quizzes_passed"
    threshold: Threshold


class ForumPosts(_Rule):
    """Forum threads started."""

    kind: Literal["forum_posts"] = "forum_posts"
    threshold: Threshold


class ForumReplies(_Rule):
    """Forum replies written."""

    kind: Literal["forum_replies"] = "forum_replies"
    threshold: Threshold


class LikesReceived(_Rule):
    """Likes other users gave the user's posts and replies."""

    kind: Literal["likes_received"] = "likes_received"
    threshold: Threshold


class GoalsCompleted(_Rule):
    """Learning goals completed."""

    kind: Literal["goals_completed"] = "goals_completed"
    threshold: Threshold


class AllOf(_Rule):
    """Met when every rule is met; progress is the sum of the parts' (capped) progress."""

    kind: Literal["all_of"] = "all_of"
    rules: Annotated[list[Requirement], Field(min_length=1, max_length=MAX_RULES)]


class AnyOf(_Rule):
    """Met when one rule is met; progress is that of the rule nearest to being met."""

    kind: Literal["any_of"] = "any_of"
    rules: Annotated[list[Requirement], Field(min_length=1, max_length=MAX_RULES)]


Requirement = Annotated[
    Union[  # noqa: UP007 - the recursive alias needs the runtime Union
        LessonsCompleted,
        CoursesCompleted,
        StreakDays,
        FlashcardsReviewed,
        CardsMastered,
        QuizzesPassed,
        ForumPosts,
        ForumReplies,
        LikesReceived,
        GoalsCompleted,
        AllOf,
        AnyOf,
    ],
    Field(discriminator="kind"),
]
"""One rule of the requirement language, told apart by its `kind`."""

AllOf.model_rebuild()
AnyOf.model_rebuild()

COUNTER_KINDS: Final = frozenset(
    {
        "lessons_completed",
        "courses_completed",
        "streak_days",
        "flashcards_reviewed",
        "cards_mastered",
        "quizzes_passed",
        "forum_posts",
        "forum_replies",
        "likes_received",
        "goals_completed",
    }
)
"""Every kind that counts something toward a threshold (the rest combine rules)."""

_KINDS: Final = COUNTER_KINDS | {"all_of", "any_of"}
_ADAPTER: TypeAdapter[Requirement] = TypeAdapter(Requirement)


def _depth(rule: Requirement) -> int:
    if isinstance(rule, AllOf | AnyOf):
        return 1 + max(_depth(part) for part in rule.rules)
    return 1


def _path(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the discriminator's value in the location of a union member
    # (rules.0.lessons_completed.threshold); the path a person wrote has no such step.
    return ".".join(["requirement", *(str(part) for part in loc if part not in _KINDS)])


def _too_deep(value: Any) -> bool:
    """Whether raw JSON nests rules deeper than MAX_DEPTH: checked before validation, so that a
    hostile document nested thousands deep fails fast with a short message."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [
            part
            for rule in level
            if isinstance(rule, dict) and isinstance(rule.get("rules"), list)
            for part in rule["rules"][: MAX_RULES + 1]
        ]
        if not level:
            return False
    return True


def parse_requirement(value: Any) -> Requirement:
    """`value` (a rule model or its JSON as a dict) as a rule, or InvalidValue naming the bad path,
    e.g. `requirement.rules.1.threshold: Input should be greater than or equal to 1`."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if _too_deep(value):
        raise InvalidValue(
            f"requirement: all_of / any_of nest at most {MAX_DEPTH} levels deep", field="requirement"
        )
    try:
        rule = _ADAPTER.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _path(tuple(first["loc"]))
        raise InvalidValue(f"{path}: {first['msg']}", field=path) from exc
    if _depth(rule) > MAX_DEPTH:
        raise InvalidValue(
            f"requirement: all_of / any_of nest at most {MAX_DEPTH} levels deep", field="requirement"
        )
    return rule
