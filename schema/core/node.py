from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with an opaque global id, refetchable through `node(id:)`.")
class Node:
    id: strawberry.ID
