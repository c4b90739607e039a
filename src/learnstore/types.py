"""The domain types every layer above the connection core shares: ids, titles, statuses, lesson content.

They sit below the generated queries and the repositories, so that a repository never borrows a type
from another repository.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

__all__ = [
    "CONTENT_MODELS",
    "INT_MAX",
    "AudioContent",
    "ClerkId",
    "ContentType",
    "CourseStatus",
    "Difficulty",
    "ExerciseContent",
    "LessonContent",
    "LessonStatus",
    "MediaType",
    "NotificationType",
    "QuestionType",
    "Seconds",
    "SourceType",
    "Text",
    "TextContent",
    "Title",
    "Url",
    "VideoContent",
]

# The largest value an `integer` column holds.
INT_MAX: Final = 2**31 - 1

ClerkId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""A user's external identity (Clerk's user id): what every table refers to users by."""

ContentType = Literal["video", "text", "audio", "exercise"]
Difficulty = Literal["beginner", "intermediate", "advanced"]
CourseStatus = Literal["draft", "published", "archived"]
MediaType = Literal["audio", "image", "file"]
QuestionType = Literal["mcq", "flashcard", "fill_blank"]
LessonStatus = Literal["not_started", "in_progress", "completed"]
NotificationType = Literal["reply", "mention", "like", "system"]
SourceType = Literal["course", "lesson", "forum_post", "forum_reply", "achievement", "suggested_edit"]

Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Url = Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]
# Strict: a bool is not a number of seconds (True was stored as 1: found by the hostile sweep).
Seconds = Annotated[StrictInt, Field(gt=0, le=INT_MAX)]
Text = Annotated[str, Field(min_length=1, max_length=200_000, pattern=r"\S")]


# -- lesson content, one shape per content_type ------------------------------------------------


class LessonContent(BaseModel):
    """What every lesson content shape shares: no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class VideoContent(LessonContent):
    """`content` of a video lesson."""

    url: Url
    duration_seconds: Seconds | None = None
    transcript: str | None = Field(default=None, max_length=200_000)
    thumbnail_url: Url | None = None


class AudioContent(LessonContent):
    """`content` of an audio lesson."""

    url: Url
    duration_seconds: Seconds | None = None
    transcript: str | None = Field(default=None, max_length=200_000)


class TextContent(LessonContent):
    """`content` of a text lesson: a Markdown body."""

    body: Text


class ExerciseContent(LessonContent):
    """`content` of an exercise: a prompt, optional hints (shown in order) and a model solution."""

    prompt: Text
    hints: list[Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S")]] = Field(
        default_factory=list, max_length=20
    )
    solution: str | None = Field(default=None, max_length=200_000)


CONTENT_MODELS: Final[dict[str, type[LessonContent]]] = {
    "video": VideoContent,
    "audio": AudioContent,
    "text": TextContent,
    "exercise": ExerciseContent,
}
"""The content model of each `content_type`."""
