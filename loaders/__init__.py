"""Per-request DataLoaders. Built inside the request (aiodataloader binds the running loop), one
loader per distinct set of arguments, so equal requests within one request share a batch."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from loaders.base import ScopedLoader
from loaders.comments import ActivityPageByTaskIdLoader, CommentPageByTaskIdLoader
from loaders.projects import (
    LabelsByProjectIdLoader,
    MembersByProjectIdLoader,
    MembershipsByUserIdLoader,
    ProjectByIdLoader,
)
from loaders.tasks import AttachmentsByTaskIdLoader, TaskByIdLoader, TaskPageByParentLoader
from loaders.users import UserByIdLoader
from persistence.db import Database
from persistence.queries.scope import Scope
from persistence.values import PageRequest, ProjectIncludes, TaskFilter, TaskIncludes, TaskOrder
from persistence.versioned_cache import VersionedCache

L = TypeVar("L", bound=ScopedLoader)


class Loaders:
    def __init__(self, db: Database, scope: Scope, versioned: VersionedCache | None = None) -> None:
        self.db = db
        self.scope = scope
        # The request's versioned caches (user profiles, projects, task-list pages); None: database only.
        self.versioned = versioned
        self._made: dict[Hashable, ScopedLoader] = {}

    def _get(self, key: Hashable, make: Callable[[], L]) -> L:
        loader = self._made.get(key)
        if loader is None:
            loader = self._made[key] = make()
        return loader  # type: ignore[return-value]  # the key names the loader class

    def user_by_id(self) -> UserByIdLoader:
        return self._get("user_by_id", lambda: UserByIdLoader(self.db, self.scope, self.versioned))

    def project_by_id(self, includes: ProjectIncludes) -> ProjectByIdLoader:
        return self._get(
            ("project_by_id", includes),
            lambda: ProjectByIdLoader(self.db, self.scope, includes, self.versioned),
        )

    def memberships_by_user_id(self) -> MembershipsByUserIdLoader:
        return self._get("memberships_by_user_id", lambda: MembershipsByUserIdLoader(self.db, self.scope))

    def members_by_project_id(self) -> MembersByProjectIdLoader:
        return self._get("members_by_project_id", lambda: MembersByProjectIdLoader(self.db, self.scope))

    def labels_by_project_id(self) -> LabelsByProjectIdLoader:
        return self._get("labels_by_project_id", lambda: LabelsByProjectIdLoader(self.db, self.scope))

    def task_by_id(self, includes: TaskIncludes) -> TaskByIdLoader:
        return self._get(("task_by_id", includes), lambda: TaskByIdLoader(self.db, self.scope, includes))

    def task_page_by_parent(
        self,
        partition: str,
        where: TaskFilter,
        order: TaskOrder,
        page: PageRequest,
        includes: TaskIncludes,
        with_total: bool,
    ) -> TaskPageByParentLoader:
        key = ("task_page_by_parent", partition, where, order, page, includes, with_total)
        return self._get(
            key,
            lambda: TaskPageByParentLoader(
                self.db,
                self.scope,
                partition=partition,
                where=where,
                order=order,
                page=page,
                includes=includes,
                with_total=with_total,
                versioned=self.versioned,
            ),
        )

    def attachments_by_task_id(self) -> AttachmentsByTaskIdLoader:
        return self._get("attachments_by_task_id", lambda: AttachmentsByTaskIdLoader(self.db, self.scope))

    def comment_page_by_task_id(
        self, page: PageRequest, with_author: bool, with_total: bool
    ) -> CommentPageByTaskIdLoader:
        return self._get(
            ("comment_page_by_task_id", page, with_author, with_total),
            lambda: CommentPageByTaskIdLoader(
                self.db, self.scope, page=page, with_author=with_author, with_total=with_total
            ),
        )

    def activity_page_by_task_id(self, page: PageRequest, with_total: bool) -> ActivityPageByTaskIdLoader:
        return self._get(
            ("activity_page_by_task_id", page, with_total),
            lambda: ActivityPageByTaskIdLoader(self.db, self.scope, page=page, with_total=with_total),
        )


__all__ = ["Loaders"]
