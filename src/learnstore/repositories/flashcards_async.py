"""The flashcards domain: sets and cards, FSRS review with a replayable log, and the due queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from fsrs import Card, Rating, ReviewLog, Scheduler, State
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from learnstore._validation import UNSET, Unset, checked_position, validated
from learnstore.database_async import AsyncDatabase
from learnstore.errors import Conflict, InvalidValue, NotFound, register_messages
from learnstore.queries.flashcards import AsyncQuerier
from learnstore.queries.models import (
    CountFlashcardsReviewedRow,
    Flashcard,
    FlashcardReview,
    FlashcardSet,
    GetFlashcardForReviewRow,
    ListDueFlashcardsRow,
    UserFlashcardProgress,
)
from learnstore.types import INT_MAX, ClerkId, Title

__all__ = [
    "AsyncFlashcardsRepository",
    "CardSchedule",
    "FlashcardSetSummary",
    "Grade",
    "ImportedSet",
    "mastery_of",
]

register_messages(
    {
        "flashcard_sets_owner_clerk_id_fkey": "owner_clerk_id: no user with this clerk_id",
        "flashcard_sets_course_id_fkey": "course_id: no course with this id",
        "flashcard_sets_title_not_blank": "title must not be blank and be at most 200 characters",
        "flashcard_sets_description_length": "description must be at most 5000 characters",
        "flashcards_front_not_blank": "front must not be blank and be at most 5000 characters",
        "flashcards_back_not_blank": "back must not be blank and be at most 5000 characters",
        "user_flashcard_progress_user_clerk_id_fkey": "clerk_id: no user with this clerk_id",
        "user_flashcard_progress_flashcard_id_fkey": "flashcard_id: no flashcard with this id",
        "flashcard_reviews_user_card_number_key": "the card was reviewed concurrently; read it again",
    }
)

Grade = Rating | int | str
"""A review's grade: fsrs.Rating, its number (1 Again, 2 Hard, 3 Good, 4 Easy) or its name ("good")."""

#: mastery 2, 3 and 4 end where stability reaches these many days; 5 is beyond the last.
MASTERY_STABILITY_DAYS: Final = (7.0, 30.0, 90.0)

#: the largest set an import takes in one call.
MAX_IMPORT_CARDS: Final = 50_000
#: an import of this many cards or more goes in by COPY, a smaller one in one statement.
COPY_FROM: Final = 100
_COPY_CARDS: Final = "COPY flashcards (set_id, front, back, position) FROM STDIN (FORMAT BINARY)"

# A review computed from a state another review replaced is computed again, from the new state;
# more than this many lost races in a row (a card hammered from many tabs) is a Conflict.
_REVIEW_ATTEMPTS: Final = 5
# How far ahead of this machine's clock a client's reviewed_at may be.
_CLOCK_SKEW: Final = timedelta(minutes=5)

_STATE_NAMES: Final = {State.Learning: "learning", State.Review: "review", State.Relearning: "relearning"}
_STATES: Final = {name: state for state, name in _STATE_NAMES.items()}
_GRADES: Final = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}

# Fuzzing off: FSRS's fuzz draws from the process-wide random generator, so a fuzzed schedule could
# not be recomputed from the log. Without it, replaying the log gives the stored schedule exactly.
DEFAULT_SCHEDULER: Final = Scheduler(enable_fuzzing=False)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here, by name, rather than as a driver error
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value


CardText = Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S"), AfterValidator(_no_nul)]
Description = Annotated[str, Field(max_length=5000)]


def mastery_of(state: State, stability: float) -> int:
    """Mastery 1-5 of a reviewed card (0 is "never reviewed").

    FSRS's stability is the number of days after which the chance of recalling the card
    (retrievability) falls to 90%. A card still in its learning or relearning steps is at 1; a card in
    review is at 2, 3 or 4 while its stability is under 7, 30 or 90 days, and at 5 beyond: "I will still
    recall it with 90% odds three months from now".
    """
    if state != State.Review:
        return 1
    for level, days in enumerate(MASTERY_STABILITY_DAYS, start=2):
        if stability < days:
            return level
    return 5


class CardSchedule(BaseModel):
    """A learner's FSRS schedule of one card: what the next review starts from."""

    model_config = ConfigDict(frozen=True)

    state: Literal["learning", "review", "relearning"]
    step: int | None
    stability: float
    """Days until the odds of recalling the card fall to 90%."""
    difficulty: float
    """1 (easy) to 10 (hard)."""
    due: datetime
    last_reviewed_at: datetime
    repetitions: int
    mastery: int

    @classmethod
    def of(cls, progress: UserFlashcardProgress) -> CardSchedule:
        """The schedule a progress row holds (one that has been reviewed)."""
        assert progress.last_reviewed_at is not None
        return cls(
            state=progress.state,
            step=progress.step,
            stability=progress.stability,
            difficulty=progress.difficulty,
            due=progress.next_review_at.astimezone(UTC),
            last_reviewed_at=progress.last_reviewed_at.astimezone(UTC),
            repetitions=progress.repetitions,
            mastery=progress.mastery,
        )


class FlashcardSetSummary(BaseModel):
    """A set and how many cards it holds."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    owner_clerk_id: str
    course_id: UUID | None
    title: str
    description: str
    is_public: bool
    created_at: datetime
    updated_at: datetime
    card_count: int


class ImportedSet(BaseModel):
    """What `import_set` created."""

    model_config = ConfigDict(frozen=True)

    set: FlashcardSet
    card_count: int


class _Viewer(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId


class _SetFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    is_public: StrictBool | None = None
    course_id: UUID | None = None


class _CardFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    front: CardText | None = None
    back: CardText | None = None


def _required(fields: BaseModel, label: str, *names: str) -> None:
    """InvalidValue for the first of `names` that is None: the field models are shared with the
    updates, where None means "keep as it is", so creating checks what it needs here."""
    for name in names:
        if getattr(fields, name) is None:
            raise InvalidValue(f"{label}.{name}: required, not None", field=name)


class _ImportCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    front: CardText
    back: CardText


class _Review(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    flashcard_id: UUID
    reviewed_at: datetime | None
    review_duration_ms: Annotated[StrictInt, Field(ge=0, le=INT_MAX)] | None


class _Queue(BaseModel):
    model_config = ConfigDict(frozen=True)

    clerk_id: ClerkId
    set_id: UUID | None
    limit: Annotated[StrictInt, Field(ge=1, le=1000)]
    new_per_day: Annotated[StrictInt, Field(ge=0, le=10_000)]


def _rating(grade: object) -> Rating:
    """The fsrs.Rating of a grade, or InvalidValue naming `grade`."""
    if isinstance(grade, Rating):
        return grade
    if isinstance(grade, str) and grade.lower() in _GRADES:
        return _GRADES[grade.lower()]
    if isinstance(grade, int) and not isinstance(grade, bool) and 1 <= grade <= 4:
        return Rating(grade)
    raise InvalidValue(
        f"grade: must be 1 (again), 2 (hard), 3 (good) or 4 (easy), not {grade!r}", field="grade"
    )


def _uuid(value: object, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    raise InvalidValue(f"{field}: must be a UUID, not {value!r}", field=field)


def _card_before(row: GetFlashcardForReviewRow) -> Card:
    """The fsrs.Card a review starts from: a new Card when the learner never reviewed this one."""
    if row.last_reviewed_at is None or row.state is None or row.state == "new":
        return Card(card_id=0)  # card_id given: fsrs sleeps 1 ms to make up an id otherwise
    return Card(
        card_id=0,
        state=_STATES[row.state],
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.next_review_at.astimezone(UTC) if row.next_review_at else None,
        last_review=row.last_reviewed_at.astimezone(UTC),
    )


def _schedule(card: Card, repetitions: int) -> CardSchedule:
    assert card.stability is not None and card.difficulty is not None and card.last_review is not None
    return CardSchedule(
        state=_STATE_NAMES[card.state],
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_reviewed_at=card.last_review,
        repetitions=repetitions,
        mastery=mastery_of(card.state, card.stability),
    )


def _import_cards(cards: object) -> list[_ImportCard]:
    if isinstance(cards, str | bytes) or not isinstance(cards, Sequence):
        raise InvalidValue(
            "cards: must be a list of (front, back) pairs or {front, back} mappings", field="cards"
        )
    if len(cards) > MAX_IMPORT_CARDS:
        raise InvalidValue(f"cards: at most {MAX_IMPORT_CARDS} cards per import", field="cards")
    checked: list[_ImportCard] = []
    for index, card in enumerate(cards):
        if isinstance(card, Mapping):
            value: Any = dict(card)
        elif isinstance(card, Sequence) and not isinstance(card, str | bytes) and len(card) == 2:
            value = {"front": card[0], "back": card[1]}
        else:
            raise InvalidValue(f"cards.{index}: must be a (front, back) pair", field=f"cards.{index}")
        try:
            checked.append(validated(_ImportCard, value, f"cards.{index}"))
        except InvalidValue as exc:  # name the card as well as its field: cards.3.back
            raise InvalidValue(exc.message, field=f"cards.{index}.{exc.field}") from exc
    return checked


class AsyncFlashcardsRepository:
    """Flashcard sets and cards, reviews scheduled by FSRS, the due queue.

    Every method is one transaction; `review` is two statements (read the schedule, write it with the
    log), every other method one.
    """

    __slots__ = ("_db", "_scheduler")

    def __init__(self, db: AsyncDatabase, scheduler: Scheduler = DEFAULT_SCHEDULER) -> None:
        self._db = db
        self._scheduler = scheduler

    # -- sets ---------------------------------------------------------------------------------

    async def create_set(
        self,
        owner_clerk_id: str,
        title: str,
        *,
        description: str = "",
        course_id: UUID | None = None,
        is_public: bool = False,
    ) -> FlashcardSet:
        """Create an empty set; `InvalidReference` for an unknown owner or course."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        fields = validated(
            _SetFields,
            {"title": title, "description": description, "is_public": is_public, "course_id": course_id},
            "flashcard_set",
        )
        _required(fields, "flashcard_set", "title", "description", "is_public")
        assert fields.title is not None and fields.description is not None and fields.is_public is not None
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).create_flashcard_set(
                owner_clerk_id=owner,
                course_id=fields.course_id,
                title=fields.title,
                description=fields.description,
                is_public=fields.is_public,
            )
        assert created is not None
        return created

    async def import_set(
        self,
        owner_clerk_id: str,
        title: str,
        cards: Sequence[tuple[str, str] | Mapping[str, str]],
        *,
        description: str = "",
        course_id: UUID | None = None,
        is_public: bool = False,
    ) -> ImportedSet:
        """Create a set with its cards in the order given, all or nothing, in one statement.

        `cards` are (front, back) pairs or {"front": ..., "back": ...} mappings, at most
        MAX_IMPORT_CARDS; one bad card is `InvalidValue` naming it (`cards.3.back`) and writes nothing.
        """
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        fields = validated(
            _SetFields,
            {"title": title, "description": description, "is_public": is_public, "course_id": course_id},
            "flashcard_set",
        )
        checked = _import_cards(cards)
        _required(fields, "flashcard_set", "title", "description", "is_public")
        assert fields.title is not None and fields.description is not None and fields.is_public is not None
        if len(checked) >= COPY_FROM:
            # bench/flashcards_ops.py: from about 100 cards, a transaction with COPY beats the single
            # statement (0.68x its time at 100 cards, 0.5x at 5,000) despite its extra round trips.
            async with self._db.transaction() as conn:
                made = await AsyncQuerier(conn).create_flashcard_set(
                    owner_clerk_id=owner,
                    course_id=fields.course_id,
                    title=fields.title,
                    description=fields.description,
                    is_public=fields.is_public,
                )
                assert made is not None
                async with conn.cursor() as cur, cur.copy(_COPY_CARDS) as copy:
                    copy.set_types(["uuid", "text", "text", "int4"])
                    for position, card in enumerate(checked):
                        await copy.write_row((made.id, card.front, card.back, position))
            return ImportedSet(set=made, card_count=len(checked))
        async with self._db.connection() as conn:
            created = await AsyncQuerier(conn).import_flashcard_set(
                owner_clerk_id=owner,
                course_id=fields.course_id,
                title=fields.title,
                description=fields.description,
                is_public=fields.is_public,
                fronts=[card.front for card in checked],
                backs=[card.back for card in checked],
            )
        assert created is not None
        return ImportedSet(set=created, card_count=len(checked))

    async def get_set(self, viewer_clerk_id: str, set_id: UUID) -> FlashcardSetSummary:
        """A set with its card count; `NotFound` unless it is the viewer's or public."""
        viewer = validated(_Viewer, {"clerk_id": viewer_clerk_id}, "viewer_clerk_id").clerk_id
        async with self._db.connection() as conn:
            found = await AsyncQuerier(conn).get_flashcard_set(
                id=_uuid(set_id, "set_id"), viewer_clerk_id=viewer, into=FlashcardSetSummary
            )
        if found is None:
            raise NotFound(f"no flashcard set with id {set_id} that {viewer!r} may see", field="set_id")
        return found

    async def update_set(
        self,
        owner_clerk_id: str,
        set_id: UUID,
        *,
        title: str | Unset = UNSET,
        description: str | Unset = UNSET,
        is_public: bool | Unset = UNSET,
        course_id: UUID | Unset | None = UNSET,
    ) -> FlashcardSet:
        """Change the fields given of the owner's set (course_id=None unties it from its course);
        `NotFound` if the set is not theirs."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        given = {
            name: value
            for name, value in {
                "title": title,
                "description": description,
                "is_public": is_public,
                "course_id": course_id,
            }.items()
            if not isinstance(value, Unset)
        }
        for name in ("title", "description", "is_public"):
            if name in given and given[name] is None:
                raise InvalidValue(f"{name} cannot be cleared (None)", field=name)
        fields = validated(_SetFields, given, "flashcard_set")
        async with self._db.connection() as conn:
            updated = await AsyncQuerier(conn).update_flashcard_set(
                id=_uuid(set_id, "set_id"),
                owner_clerk_id=owner,
                title=fields.title,
                description=fields.description,
                is_public=fields.is_public,
                course_id_set="course_id" in given,
                course_id=fields.course_id,
            )
        if updated is None:
            raise NotFound(f"no flashcard set with id {set_id} of {owner!r}", field="set_id")
        return updated

    async def delete_set(self, owner_clerk_id: str, set_id: UUID) -> bool:
        """Delete the owner's set with its cards and every learner's schedule and log of them;
        False if they have no such set."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        async with self._db.connection() as conn:
            deleted = await AsyncQuerier(conn).delete_flashcard_set(
                id=_uuid(set_id, "set_id"), owner_clerk_id=owner
            )
        return deleted > 0

    async def list_user_sets(self, owner_clerk_id: str) -> list[FlashcardSetSummary]:
        """A user's own sets (public and private) with card counts, newest first."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_user_flashcard_sets(
                owner_clerk_id=owner, into=FlashcardSetSummary
            )

    async def list_course_sets(self, course_id: UUID) -> list[FlashcardSetSummary]:
        """The public sets of a course with card counts, newest first."""
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_course_flashcard_sets(
                course_id=_uuid(course_id, "course_id"), into=FlashcardSetSummary
            )

    # -- cards --------------------------------------------------------------------------------

    async def add_card(
        self, owner_clerk_id: str, set_id: UUID, front: str, back: str, *, position: int | None = None
    ) -> Flashcard:
        """Add a card to the owner's set at `position` (0-based; None: at the end), shifting the cards
        after it. `NotFound` (field set_id) for an unknown set or another user's."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        fields = validated(_CardFields, {"front": front, "back": back}, "flashcard")
        at = checked_position(position)
        _required(fields, "flashcard", "front", "back")
        assert fields.front is not None and fields.back is not None
        async with self._db.connection() as conn:
            card = await AsyncQuerier(conn).add_flashcard(
                owner_clerk_id=owner,
                set_id=_uuid(set_id, "set_id"),
                front=fields.front,
                back=fields.back,
                position=at,
            )
        assert card is not None
        return card

    async def update_card(
        self,
        owner_clerk_id: str,
        flashcard_id: UUID,
        *,
        front: str | Unset = UNSET,
        back: str | Unset = UNSET,
    ) -> Flashcard:
        """Change the front and/or back of a card of the owner's set (learners' schedules are kept)."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        given = {
            name: value
            for name, value in {"front": front, "back": back}.items()
            if not isinstance(value, Unset)
        }
        fields = validated(_CardFields, given, "flashcard")
        if ("front" in given and fields.front is None) or ("back" in given and fields.back is None):
            raise InvalidValue(
                "front and back cannot be cleared (None)", field="front" if fields.front is None else "back"
            )
        async with self._db.connection() as conn:
            card = await AsyncQuerier(conn).update_flashcard(
                id=_uuid(flashcard_id, "flashcard_id"),
                owner_clerk_id=owner,
                front=fields.front,
                back=fields.back,
            )
        if card is None:
            raise NotFound(f"no flashcard with id {flashcard_id} of {owner!r}", field="flashcard_id")
        return card

    async def move_card(self, owner_clerk_id: str, flashcard_id: UUID, position: int | None) -> Flashcard:
        """Move a card of the owner's set to `position` (None: the last), shifting the cards between."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        at = checked_position(position)
        async with self._db.connection() as conn:
            card = await AsyncQuerier(conn).move_flashcard(
                owner_clerk_id=owner, flashcard_id=_uuid(flashcard_id, "flashcard_id"), position=at
            )
        assert card is not None
        return card

    async def reorder_cards(
        self, owner_clerk_id: str, set_id: UUID, card_ids: Sequence[UUID]
    ) -> list[Flashcard]:
        """Put the cards of the owner's set in the order given; `card_ids` must list each card of the
        set once (else `InvalidValue`, field card_ids). Returns the cards in their new order."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        if isinstance(card_ids, str | bytes) or not isinstance(card_ids, Sequence):
            raise InvalidValue("card_ids: must be a list of card ids", field="card_ids")
        ids = [_uuid(card_id, "card_ids") for card_id in card_ids]
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).reorder_flashcards(
                owner_clerk_id=owner, set_id=_uuid(set_id, "set_id"), card_ids=ids
            )

    async def delete_card(self, owner_clerk_id: str, flashcard_id: UUID) -> bool:
        """Delete a card of the owner's set (closing the gap), with learners' schedules and logs of
        it; False if they have no such card."""
        owner = validated(_Viewer, {"clerk_id": owner_clerk_id}, "owner_clerk_id").clerk_id
        async with self._db.connection() as conn:
            deleted = await AsyncQuerier(conn).delete_flashcard(
                owner_clerk_id=owner, flashcard_id=_uuid(flashcard_id, "flashcard_id")
            )
        return bool(deleted)

    async def list_cards(self, viewer_clerk_id: str, set_id: UUID) -> list[Flashcard]:
        """The cards of a set in order; empty unless the set is the viewer's or public."""
        viewer = validated(_Viewer, {"clerk_id": viewer_clerk_id}, "viewer_clerk_id").clerk_id
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_flashcards(
                set_id=_uuid(set_id, "set_id"), viewer_clerk_id=viewer
            )

    # -- reviews ------------------------------------------------------------------------------

    async def review(
        self,
        clerk_id: str,
        flashcard_id: UUID,
        grade: Grade,
        *,
        reviewed_at: datetime | None = None,
        review_duration_ms: int | None = None,
    ) -> UserFlashcardProgress:
        """Review a card: FSRS schedules it from the learner's state and the grade, and the review is
        logged (grade, time, elapsed days, state before and after) in the same statement.

        The learner may review a card of their own sets or of a public set; any other card is
        `NotFound` (field flashcard_id). `reviewed_at` (default: now) must be timezone-aware and not
        before the card's last review. Two concurrent reviews of one card both count: the one that
        loses the race is computed again from the winner's state (`Conflict` only after repeated
        losses).
        """
        rating = _rating(grade)
        checked = validated(
            _Review,
            {
                "clerk_id": clerk_id,
                "flashcard_id": flashcard_id,
                "reviewed_at": reviewed_at,
                "review_duration_ms": review_duration_ms,
            },
            "review",
        )
        if checked.reviewed_at is not None and checked.reviewed_at.tzinfo is None:
            raise InvalidValue("reviewed_at: must be timezone-aware", field="reviewed_at")
        if checked.reviewed_at is not None and checked.reviewed_at > datetime.now(UTC) + _CLOCK_SKEW:
            # a review dated in the future would make every real review after it "too early"
            raise InvalidValue("reviewed_at: must not be in the future", field="reviewed_at")
        for _ in range(_REVIEW_ATTEMPTS):
            async with self._db.connection() as conn:
                queries = AsyncQuerier(conn)
                current = await queries.get_flashcard_for_review(
                    user_clerk_id=checked.clerk_id, flashcard_id=checked.flashcard_id
                )
                if current is None:
                    raise NotFound(
                        f"no flashcard with id {checked.flashcard_id} that {checked.clerk_id!r} may review",
                        field="flashcard_id",
                    )
                when = (checked.reviewed_at or datetime.now(UTC)).astimezone(UTC)
                if current.last_reviewed_at is not None and when < current.last_reviewed_at:
                    raise InvalidValue(
                        f"reviewed_at: {when.isoformat()} is before the card's last review "
                        f"({current.last_reviewed_at.astimezone(UTC).isoformat()})",
                        field="reviewed_at",
                    )
                before = _card_before(current)
                after, _ = self._scheduler.review_card(before, rating, review_datetime=when)
                assert after.stability is not None and after.difficulty is not None
                saved = await queries.record_flashcard_review(
                    user_clerk_id=checked.clerk_id,
                    flashcard_id=checked.flashcard_id,
                    repetitions_before=current.repetitions or 0,
                    interval_days=max(0, (after.due - when).days),
                    mastery=mastery_of(after.state, after.stability),
                    due_after=after.due,
                    reviewed_at=when,
                    state_after=_STATE_NAMES[after.state],
                    step_after=after.step,
                    stability_after=after.stability,
                    difficulty_after=after.difficulty,
                    rating=int(rating),
                    elapsed_days=(when - before.last_review).days if before.last_review else None,
                    review_duration_ms=checked.review_duration_ms,
                    state_before=current.state
                    if current.last_reviewed_at is not None and current.state
                    else "new",
                    step_before=current.step if current.last_reviewed_at is not None else None,
                    stability_before=current.stability,
                    difficulty_before=current.difficulty,
                    due_before=current.next_review_at if current.last_reviewed_at is not None else None,
                )
            if saved is not None:
                return saved
        raise Conflict(
            f"flashcard {checked.flashcard_id} is being reviewed concurrently; try again",
            field="flashcard_id",
        )

    async def get_progress(self, clerk_id: str, flashcard_id: UUID) -> UserFlashcardProgress | None:
        """The learner's schedule of a card; None if they never reviewed it."""
        learner = validated(_Viewer, {"clerk_id": clerk_id}, "clerk_id").clerk_id
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).get_flashcard_progress(
                user_clerk_id=learner, flashcard_id=_uuid(flashcard_id, "flashcard_id")
            )

    async def list_reviews(self, clerk_id: str, flashcard_id: UUID) -> list[FlashcardReview]:
        """The learner's review log of a card, oldest first."""
        learner = validated(_Viewer, {"clerk_id": clerk_id}, "clerk_id").clerk_id
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_flashcard_reviews(
                user_clerk_id=learner, flashcard_id=_uuid(flashcard_id, "flashcard_id")
            )

    async def replay(self, clerk_id: str, flashcard_id: UUID) -> CardSchedule | None:
        """The schedule recomputed from the review log alone, by fsrs's `Scheduler.reschedule_card`
        (each logged grade at its logged time, from a new card); None if the log is empty. Equal to
        `CardSchedule.of(get_progress(...))` for a schedule written by `review`."""
        reviews = await self.list_reviews(clerk_id, flashcard_id)
        if not reviews:
            return None
        logs = [
            ReviewLog(
                card_id=0,
                rating=Rating(review.rating),
                review_datetime=review.reviewed_at.astimezone(UTC),
                review_duration=review.review_duration_ms,
            )
            for review in reviews
        ]
        card = self._scheduler.reschedule_card(Card(card_id=0), logs)
        return _schedule(card, len(reviews))

    def retrievability(self, schedule: CardSchedule, at: datetime | None = None) -> float:
        """The odds (0-1) that the learner recalls the card at `at` (default: now), by FSRS."""
        if not isinstance(schedule, CardSchedule):
            raise InvalidValue(
                f"schedule: must be a CardSchedule, not {type(schedule).__name__}", field="schedule"
            )
        if at is not None and (not isinstance(at, datetime) or at.tzinfo is None):
            raise InvalidValue("at: must be a datetime with a time zone", field="at")
        card = Card(
            card_id=0,
            state=_STATES[schedule.state],
            step=schedule.step,
            stability=schedule.stability,
            difficulty=schedule.difficulty,
            due=schedule.due,
            last_review=schedule.last_reviewed_at,
        )
        return float(self._scheduler.get_card_retrievability(card, at or datetime.now(UTC)))

    async def list_due(
        self, clerk_id: str, *, set_id: UUID | None = None, limit: int = 20, new_per_day: int = 20
    ) -> list[ListDueFlashcardsRow]:
        """The learner's review queue, one statement: cards due now, most overdue first, then new
        cards (never reviewed) while the day's allowance lasts: `new_per_day` minus the cards first
        reviewed since midnight in the learner's time zone. At most `limit` cards.

        Without `set_id`: due cards of every set the learner may still see, new cards of their own
        sets. With `set_id`: that set only (theirs or a public one).
        """
        queue = validated(
            _Queue,
            {"clerk_id": clerk_id, "set_id": set_id, "limit": limit, "new_per_day": new_per_day},
            "queue",
        )
        async with self._db.connection() as conn:
            return await AsyncQuerier(conn).list_due_flashcards(
                user_clerk_id=queue.clerk_id,
                set_id=queue.set_id,
                page_size=queue.limit,
                new_per_day=queue.new_per_day,
            )

    async def count_reviewed(self, clerk_id: str) -> CountFlashcardsReviewedRow:
        """The learner's totals: cards reviewed, reviews, cards at mastery 4 or more."""
        learner = validated(_Viewer, {"clerk_id": clerk_id}, "clerk_id").clerk_id
        async with self._db.connection() as conn:
            counts = await AsyncQuerier(conn).count_flashcards_reviewed(user_clerk_id=learner)
        assert counts is not None
        return counts
