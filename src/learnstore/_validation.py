"""Input checks the repositories share: pydantic validation that fails as learnstore's InvalidValue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from types import NoneType
from typing import Annotated, Any, Final, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, StrictStr, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from learnstore.errors import InvalidValue, PermissionDenied
from learnstore.types import INT_MAX, QuestionType

T = TypeVar("T")


class Unset(Enum):
    """The type of UNSET: "leave this field as it is", as distinct from None ("clear it")."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET

# kind -> the function that validates a value as `kind`: the adapter's SchemaValidator itself where
# it has one. TypeAdapter.validate_python passes eight keyword arguments through a Python frame;
# with the recursive scan for bytes (now only where a value is not a plain scalar), that was 3 us of
# every operation's validation, now 1 us.
_VALIDATE: dict[Any, Callable[[Any], Any]] = {}
# What can be no bytes and hold none: a value of these types needs no scan.
_PLAIN = frozenset((str, int, bool, float, UUID, datetime, date, NoneType))


def validated(kind: type[T], value: Any, field: str) -> T:
    """`value` validated as `kind`, or InvalidValue naming the field (`field.sub.field`) and the rule."""
    if value.__class__ is dict:
        for key, item in value.items():
            if key.__class__ is not str:
                _refuse_bytes(key, field)
            if item.__class__ not in _PLAIN:
                _refuse_bytes(item, f"{field}.{key}")
    else:
        _refuse_bytes(value, field)
    validate = _VALIDATE.get(kind)
    if validate is None:
        validate = _VALIDATE[kind] = _validator(kind)
    try:
        result: T = validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        name = f"{field}.{where}" if where else field
        raise InvalidValue(f"{name}: {first['msg']}", field=where or field) from exc
    return result


def _validator(kind: Any) -> Callable[[Any], Any]:
    adapter = TypeAdapter(kind)
    validator = adapter.validator
    if isinstance(validator, SchemaValidator):
        return validator.validate_python
    return adapter.validate_python  # a plugin's validator, or one not built yet


def _refuse_bytes(value: Any, field: str) -> None:
    """InvalidValue for bytes anywhere in `value`: pydantic's lax mode would decode them into a str
    field (b"" stored as ""), and no learnstore value is bytes (found by the hostile sweep)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidValue(f"{field}: must not be bytes", field=field)
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_bytes(key, field)
            _refuse_bytes(item, f"{field}.{key}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _refuse_bytes(item, field)


def check_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone, else InvalidValue."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a file
        raise InvalidValue(f"timezone: {name!r} is not an IANA time zone", field="timezone") from exc
    return name


def checked_position(value: object) -> int | None:
    """A 0-based position in a dense order, or None (at the end); InvalidValue naming `position`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        raise InvalidValue(
            f"position: must be None (at the end) or an integer from 0, not {value!r}", field="position"
        )
    return value


def acting_user(identity: str | None, given: str | None, field: str = "acting_clerk_id") -> str | None:
    """The user a change is made by. Under `as_user` (`identity`) that is the identity: `given` may
    be left out, and naming anyone else is `PermissionDenied`. On the service path, `given` as is."""
    if identity is None or given is None:
        return identity if given is None else given
    if given != identity:
        raise PermissionDenied(f"{field} {given!r} is not the acting user {identity!r}", field=field)
    return given


def check_id(value: object, field: str) -> UUID:
    """`value` as a UUID (a UUID as is, a string parsed), or InvalidValue naming `field`."""
    if isinstance(value, UUID):
        return value
    return validated(UUID, value, field)


def keyset(before: object, column: str) -> dict[str, Any]:
    """The keyset of a page's last row (`before`): its `column` timestamp and id, or InvalidValue."""
    if before is None:
        return {"before_created_at": None, "before_id": None}
    at, row_id = getattr(before, column, None), getattr(before, "id", None)
    if not isinstance(at, datetime) or not isinstance(row_id, UUID):
        raise InvalidValue(
            f"before: must be the last row of a page (with {column} and id), not {type(before).__name__}",
            field="before",
        )
    return {"before_created_at": at, "before_id": row_id}


# -- quizzes: content.add_quiz and lesson_items.update_quiz check them alike ---------------------------

_Option = Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=r"\S")]
_Answer = Annotated[StrictStr, Field(min_length=1, max_length=2000, pattern=r"\S")]


class QuizInput(BaseModel):
    """A quiz's question and answer, each field checked alone (checked_quiz checks them together)."""

    question_type: QuestionType
    question: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
    options: list[_Option] = Field(default_factory=list, max_length=20)
    correct_answer: _Answer | list[_Answer]


def checked_quiz(
    question_type: object, question: object, options: object, correct_answer: object
) -> QuizInput:
    """A quiz whose options and correct answer fit its question_type, or InvalidValue naming the rule."""
    quiz = validated(
        QuizInput,
        {
            "question_type": question_type,
            "question": question,
            "options": list(options)
            if isinstance(options, Sequence) and not isinstance(options, str)
            else options,
            "correct_answer": correct_answer,
        },
        "quiz",
    )
    answers = quiz.correct_answer if isinstance(quiz.correct_answer, list) else [quiz.correct_answer]
    if len(set(quiz.options)) != len(quiz.options):
        raise InvalidValue("options: each option must appear once", field="options")
    if not answers or len(set(answers)) != len(answers):
        raise InvalidValue(
            "correct_answer: a list must hold at least one answer, each once", field="correct_answer"
        )
    if quiz.question_type == "mcq":
        if len(quiz.options) < 2:
            raise InvalidValue("options: a multiple-choice quiz needs at least 2 options", field="options")
        strays = [answer for answer in answers if answer not in quiz.options]
        if strays:
            raise InvalidValue(
                f"correct_answer: {strays[0]!r} is not one of the options", field="correct_answer"
            )
    elif quiz.question_type == "flashcard":
        if quiz.options:
            raise InvalidValue("options: a flashcard has no options", field="options")
        if isinstance(quiz.correct_answer, list):
            raise InvalidValue("correct_answer: a flashcard has one answer, a string", field="correct_answer")
    return quiz


def listed(value: object) -> object:
    """A tuple or other non-string sequence as a list (what pydantic and JSON expect), else as given."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | list):
        return list(value)
    return value
