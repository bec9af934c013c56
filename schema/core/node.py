from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with an opaque global id, refetchable through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's opaque global id: pass it back as it is; `node(id:)` refetches it."
    )
