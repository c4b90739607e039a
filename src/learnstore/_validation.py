"""Input checks the repositories share: pydantic validation that fails as learnstore's InvalidValue."""

from __future__ import annotations

from enum import Enum
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from learnstore.errors import InvalidValue, PermissionDenied
from learnstore.types import INT_MAX

T = TypeVar("T")


class Unset(Enum):
    """The type of UNSET: "leave this field as it is", as distinct from None ("clear it")."""

    UNSET = "UNSET"


UNSET: Final = Unset.UNSET

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def validated(kind: type[T], value: Any, field: str) -> T:
    """`value` validated as `kind`, or InvalidValue naming the field (`field.sub.field`) and the rule."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    try:
        result: T = adapter.validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        name = f"{field}.{where}" if where else field
        raise InvalidValue(f"{name}: {first['msg']}", field=where or field) from exc
    return result


def check_time_zone(name: str) -> str:
    """`name` if it is an IANA time zone, else InvalidValue."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
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
