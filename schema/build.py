"""Assembles the strawberry schema."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.auth import Mutation
from schema.projects import Project
from schema.query import Query
from schema.tasks import Task
from schema.users import User


def build_schema() -> strawberry.Schema:
    # Concrete Node types are listed because `node(id:)` returns them only through the interface.
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Task, Project, User],
        config=StrawberryConfig(auto_camel_case=True),
    )
