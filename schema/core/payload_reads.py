"""How a mutation payload's object is read after the write: by the compiled engine when the engine
that runs the mutation offers it (schema/engine/payload_reads.py), else by the payload's resolvers.

The engine hands its reader to the operation as graphql-core's root value; a payload field asks it
with ``compiled_read`` and, when it answers, returns the ``Completed`` value, which the engine's
executor puts into the answer as it is (its selection already applied by the database)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from strawberry.types import Info


@dataclass(frozen=True, slots=True)
class Completed:
    """A field's value in the answer's shape: the object's JSON, decoded; None when no row was
    visible (the field is null, as the resolvers would leave it)."""

    value: dict[str, Any] | None


class PayloadReads(ABC):
    @abstractmethod
    async def read(self, info: Info[Any, Any], root_field: str, object_id: int) -> Completed | None:
        """The object as Query.<root_field>(id:) with this field's selection would read it now; None
        when the compiled engine does not cover the selection (the resolvers read it)."""


async def compiled_read(info: Info[Any, Any], root_field: str, object_id: int) -> Completed | None:
    reads = info.root_value
    if not isinstance(reads, PayloadReads):
        return None
    return await reads.read(info, root_field, object_id)
