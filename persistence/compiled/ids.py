"""Global ids and cursors as the API shows them, for the compiled reads' SQLite functions: base64url
without padding, and a number's JSON text as orjson writes it."""

from __future__ import annotations

import base64

import orjson


def base64url(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def encode_global_id(type_name: str, database_id: int) -> str:
    """base64url of "<Type>:<database id>" (schema/core/ids.py's encoding)."""
    return base64url(f"{type_name}:{database_id}")


def json_number(value: float | int | None) -> str:
    return orjson.dumps(value).decode()


# The names SQLite connections know these functions by (persistence/db.py registers them): SQLite has
# no base64, and writes a float's text with 15 digits where orjson writes the shortest exact form.
GLOBAL_ID_FUNCTION = "taskql_global_id"
BASE64URL_FUNCTION = "taskql_base64url"
JSON_NUMBER_FUNCTION = "taskql_json_number"
