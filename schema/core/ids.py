"""Opaque global ids: base64url of "<Type>:<database id>". Anything else is BAD_USER_INPUT."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from persistence.compiled.ids import encode_global_id
from resolvers.errors import BadUserInput

MAX_DATABASE_ID = 2**63 - 1


def encode_id(type_name: str, database_id: int) -> str:
    # One spelling with the SQL the compiled reads run (SQLite calls it as a function).
    return encode_global_id(type_name, database_id)


def decode_any_id(global_id: str, *, argument: str = "id") -> tuple[str, int]:
    if len(global_id) > 64:
        raise BadUserInput("not a valid id", argument=argument)
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput("not a valid id", argument=argument) from exc
    type_name, _, number = raw.partition(":")
    # ASCII only: int() also reads other scripts' digits, which would give one object many ids.
    if not raw.isascii() or not type_name.isalpha() or not number.isdigit():
        raise BadUserInput("not a valid id", argument=argument)
    if not 0 < int(number) <= MAX_DATABASE_ID:
        raise BadUserInput("not a valid id", argument=argument)
    return type_name, int(number)


def decode_id(global_id: str, expected_type: str, *, argument: str = "id") -> int:
    type_name, database_id = decode_any_id(global_id, argument=argument)
    if type_name != expected_type:
        raise BadUserInput(f"expected a {expected_type} id", argument=argument)
    return database_id


def decode_ids(
    global_ids: Sequence[str] | None, expected_type: str, *, argument: str
) -> tuple[int, ...] | None:
    if global_ids is None:
        return None
    if len(global_ids) > 100:
        raise BadUserInput(f"`{argument}` takes at most 100 ids", argument=argument)
    return tuple(decode_id(g, expected_type, argument=argument) for g in global_ids)
