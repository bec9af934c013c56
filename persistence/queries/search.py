"""The full-text part of ``searchTasks``: which of a viewer's tasks match the words, and how well.

``ranked_matches`` is the one statement both execution engines build on: the resolvers' search pages
it (persistence/queries/tasks.py ``search_tasks``), and a compiled operation can build it once per
dialect and kind of viewer, with the viewer and the words as bind parameters.

MariaDB ranks in natural language mode (InnoDB: a word's weight is its count in the row times the
square of its rarity in the whole table). Where the rows are read from decides the cost, never the
scores: InnoDB runs the word search once per statement, and ``MATCH`` of any row then looks its score
up. Read through the FULLTEXT index, every matching row of every organization is read to be
filtered (a common word: thousands of rows); read through the tenancy (a member's projects), only the
tasks the viewer may see are, each scored as it goes. docs/performance.md "Search" has the figures.

SQLite ranks with FTS5's bm25 (negated: higher is better).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table
from sqlalchemy.dialects.mysql import match
from sqlalchemy.sql import FromClause

from persistence.models import Task
from persistence.queries.scope import visible_tasks

_tasks = Task.__table__
# The FTS5 table the SQLite schema keeps by triggers (its rowid is the task's id).
_fts = table("tasks_fts", column("rowid"))
_fts_name: ColumnElement[Any] = literal_column("tasks_fts")
_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(dialect: str, query: str) -> str | None:
    """The value of ``ranked_matches``'s ``words`` for a user's search text: its words only, so that
    no operator of either engine's syntax reaches it; None when it has no word (nothing matches).

    MariaDB: the words apart (InnoDB's parser fails on a `*` with no word before it even in natural
    language mode). SQLite: each word quoted, any of them."""
    words = _WORD.findall(query)
    if not words:
        return None
    if dialect == "sqlite":
        return " OR ".join(f'"{word}"' for word in words)
    return " ".join(words)


def ranked_matches(
    dialect: str,
    organization_id: int | ColumnElement[int],
    sees_all_projects: bool,
    user_id: int | ColumnElement[int],
    words: str | ColumnElement[str],
    where: Sequence[ColumnElement[bool]] = (),
    *,
    by_tenancy: bool | None = None,
    tasks: FromClause = _tasks,
) -> Select[Any]:
    """The tasks the viewer may read (``visible_tasks``) that match ``words`` and ``where``, as rows of
    ``id`` and ``score`` (higher is better; order by score desc, id desc for the ranking), unordered.

    ``organization_id``, ``user_id`` and ``words`` may be bind parameters; ``words`` is what
    ``search_words`` makes of the search text. ``where`` adds conditions on ``tasks``, the tasks table
    or an alias of it (``filter_conditions`` in persistence/queries/tasks.py makes them).

    ``by_tenancy`` (MariaDB; by default for a viewer who does not see every project) reads the rows
    through the tenancy's indexes and scores each, so the cost follows the tasks the viewer sees;
    otherwise through the FULLTEXT index, so it follows the matches of every organization. Both give
    the same rows and scores."""
    tenancy = [*visible_tasks(organization_id, sees_all_projects, user_id, tasks), *where]
    if dialect == "sqlite":
        hits = (
            select(_fts.c.rowid.label("id"), (-func.bm25(_fts_name)).label("score"))
            .where(_fts_name.op("MATCH")(words))
            .subquery()
        )
        # `hits.id + 0` is no column of the FTS table: SQLite cannot drive the match from each task it
        # reads (a full-text query per task), and reads the matches first, each task by its id.
        return (
            select(tasks.c.id, hits.c.score)
            .select_from(tasks.join(hits, tasks.c.id == hits.c.id + literal_column("0")))
            .where(*tenancy)
        )
    score = match(tasks.c.title, tasks.c.description, against=words).in_natural_language_mode()
    ranked = select(tasks.c.id, score.label("score")).where(*tenancy)
    if by_tenancy if by_tenancy is not None else not sees_all_projects:
        # MATCH in WHERE would make MariaDB read through the FULLTEXT index (it always prefers it);
        # in HAVING it only filters the rows the tenancy's indexes read.
        return ranked.having(literal_column("score") > 0)
    return ranked.where(score > 0)
