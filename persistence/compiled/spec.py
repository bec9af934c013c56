"""What SQL value each GraphQL field is: the vocabulary of the schema's compiled-field registry.

Plain data naming tables and columns by their names: schema packages hold the registry beside their
types without importing the models or the queries (persistence/compiled/sql.py resolves the names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a column becomes the scalar the resolvers give: text and numbers as they are, an enum by its
# name (the upper-cased stored value), a date and an aware UTC datetime in ISO form, "present" the
# Boolean "this nullable column holds a value" (archived, deactivated), "json" a JSON column's value,
# "bool" a Boolean column's value.
ScalarKind = Literal["text", "int", "float", "enum", "date", "datetime", "present", "json", "bool"]


# How rows are limited to what the viewer may read: "tasks" the visible tasks (organization,
# live, a project the viewer sees); "organization" the viewer's organization's rows; "projects" the
# projects the viewer sees; "parent" nothing more than the parent row, which the viewer already sees;
# "own_organization" the viewer's organization's own row; "task_rows" rows whose ``task_id`` names a
# visible task (a comment, an attachment, an activity event read by its own id); "project_rows" rows
# whose ``project_id`` names a visible project (a label); "own_rows" the viewer's own rows (by
# ``user_id``: a push device); "admin_rows" the organization's rows for its owners and admins only
# (an API key, an invitation), none for anyone else; "endpoint_rows" rows whose ``endpoint_id``
# names a live webhook endpoint of the organization, for its owners and admins only (a delivery);
# "operators" every row, for platform operators only (a trusted document).
Tenancy = Literal[
    "tasks",
    "organization",
    "projects",
    "parent",
    "own_organization",
    "task_rows",
    "project_rows",
    "own_rows",
    "admin_rows",
    "endpoint_rows",
    "operators",
]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ScalarKind


@dataclass(frozen=True, slots=True)
class GlobalId:
    """The row's ``id`` (or the id in ``column``: an API key's creator) as schema/core/ids.py encodes
    it: base64url of "<type>:<id>", unpadded."""

    type_name: str
    column: str = "id"


@dataclass(frozen=True, slots=True)
class IdPath:
    """A path that names the row by its global id: ``prefix`` then the id (an attachment's download)."""

    prefix: str
    type_name: str


@dataclass(frozen=True, slots=True)
class Prefixed:
    """``prefix`` and the row's id as text (a webhook delivery's ``whd_<id>``)."""

    prefix: str


@dataclass(frozen=True, slots=True)
class KeyAndNumber:
    """``<related row's key>-<own number>`` (a task's key: its project's key and its number)."""

    relation: str
    key_column: str
    number_column: str


@dataclass(frozen=True, slots=True)
class ToOne:
    """The row ``foreign_key`` names in ``table`` (of the same organization, when this row has one),
    or null; ``tenancy``: only a row the viewer may read (a task's parent, a comment's author)."""

    table: str
    foreign_key: str
    tenancy: Tenancy | None = None
    same_organization: bool = True


@dataclass(frozen=True, slots=True)
class SameRow:
    """This row again, as an object of the field's type (Viewer.user: the viewer's own user row)."""


@dataclass(frozen=True, slots=True)
class LinkedList:
    """The rows of ``table`` linked through ``link_table`` that share ``same_column`` with this row
    (a task's labels: only its own project's labels are shown), ordered by ``order_by`` (text by
    code point, as Python sorts it)."""

    link_table: str
    link_own: str
    link_other: str
    table: str
    same_column: str
    order_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveCount:
    """How many live rows (``deleted_column`` null) of ``table`` point at this row by ``foreign_key``."""

    table: str
    foreign_key: str
    deleted_column: str


@dataclass(frozen=True, slots=True)
class Typename:
    """``__typename``: the object's GraphQL type name."""

    name: str


@dataclass(frozen=True, slots=True)
class Connection:
    """A Relay connection over ``table``'s rows: at the root (``parent_column`` None) or the rows
    whose ``parent_column`` holds the enclosing row's id. ``arguments`` names the reader of the
    field's arguments (page, filter, order: schema/engine/compiler/arguments.py), which also gives
    the list's order; ``live_column``: rows where it is null are the live ones."""

    table: str
    arguments: str
    tenancy: Tenancy
    parent_column: str | None = None
    live_column: str | None = None
    # The field is the page's nodes alone, a list (Task.subtasks), its arguments fixed by the reader.
    bare: bool = False


@dataclass(frozen=True, slots=True)
class Nodes:
    """A connection's ``nodes``: the page's objects in the list's order."""


@dataclass(frozen=True, slots=True)
class Edges:
    """A connection's ``edges``: each row's cursor and node, in the list's order."""


@dataclass(frozen=True, slots=True)
class EdgeCursor:
    """An edge's ``cursor`` (schema/core/cursors.py's text, built by the database)."""


@dataclass(frozen=True, slots=True)
class EdgeNode:
    """An edge's ``node``."""


@dataclass(frozen=True, slots=True)
class PageInfo:
    """A connection's ``pageInfo`` object."""


PageInfoName = Literal["hasNextPage", "hasPreviousPage", "startCursor", "endCursor"]


@dataclass(frozen=True, slots=True)
class PageInfoField:
    name: PageInfoName


@dataclass(frozen=True, slots=True)
class TotalCount:
    """A connection's ``totalCount``: every visible row, on every page."""


@dataclass(frozen=True, slots=True)
class OpenTaskCount:
    """How many live tasks not done or canceled point at this row by ``foreign_key`` (the resolvers'
    own count: persistence/queries/projects.py ``open_task_count``)."""

    foreign_key: str


@dataclass(frozen=True, slots=True)
class ViewerRole:
    """The viewer's role in this project (an enum's name), or null when the viewer is no member
    (persistence/queries/projects.py ``viewer_role``)."""


@dataclass(frozen=True, slots=True)
class OwnedList:
    """The rows of ``table`` whose ``foreign_key`` holds this row's id (a project's labels), ordered
    by ``order_by`` in the database's collation, as the resolvers' statement orders them."""

    table: str
    foreign_key: str
    order_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkRows:
    """The rows of ``link_table`` whose ``link_own`` holds this row's id, each an object of its own
    (a project's members: user and role), ordered by ``order_by`` of the row ``link_other`` names in
    ``table`` (the database's collation) and kept when ``tenancy`` lets the viewer see that row."""

    link_table: str
    link_own: str
    link_other: str
    table: str
    order_by: tuple[str, ...]
    tenancy: Tenancy


FieldSpec = (
    Column
    | Prefixed
    | SameRow
    | GlobalId
    | IdPath
    | KeyAndNumber
    | ToOne
    | LinkedList
    | LiveCount
    | Typename
    | Connection
    | Nodes
    | Edges
    | EdgeCursor
    | EdgeNode
    | PageInfo
    | PageInfoField
    | TotalCount
    | OpenTaskCount
    | ViewerRole
    | OwnedList
    | LinkRows
)


@dataclass(frozen=True, slots=True)
class ById:
    """A root field reading one visible row by the global id in ``argument`` (null and NOT_FOUND
    naming ``kind`` when there is none); ``tenancy``: which rows the viewer may read."""

    table: str
    type_name: str
    argument: str
    kind: str
    tenancy: Tenancy = "tasks"
    # Rows where this column is null are the live ones (a deleted comment reads as missing).
    live_column: str | None = None


@dataclass(frozen=True, slots=True)
class ByKey:
    """A root field reading one visible row by ``<related key>-<number>`` (a task by "OPS-42"): the
    row whose ``relation`` names the row of that key (in the viewer's organization) and whose
    ``number_column`` holds the number. Null and NOT_FOUND naming ``kind`` when there is none."""

    table: str
    relation: str
    key_column: str
    number_column: str
    kind: str
    argument: str = "key"
    tenancy: Tenancy = "tasks"


@dataclass(frozen=True, slots=True)
class ByIdOrKey:
    """A root field reading one visible row by exactly one of two arguments: the global id in
    ``id_argument`` or the text in ``key_argument``, which ``key_column`` holds (a project by id or
    by "OPS"). The key is read as the resolvers read it (schema/engine/compiler/operations.py); both
    or neither: the resolvers answer, with their error. Null and NOT_FOUND naming ``kind`` when
    there is no such row."""

    table: str
    type_name: str
    key_column: str
    kind: str
    tenancy: Tenancy
    id_argument: str = "id"
    key_argument: str = "key"


@dataclass(frozen=True, slots=True)
class ViewerRow:
    """The root field of the viewer's own user row (``viewer``): never null."""

    table: str = "users"


RootSpec = ById | ByKey | Connection | ViewerRow | ByIdOrKey


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """One object type's compiled fields and the table its rows come from (None for a connection)."""

    table: str | None
    fields: dict[str, FieldSpec]


@dataclass(frozen=True, slots=True)
class Selected:
    """One response key of a planned object: its field's spec and, for an object or a list of
    objects, the keys selected inside it (fragments inlined, @skip/@include applied)."""

    key: str
    spec: FieldSpec
    children: tuple[Selected, ...] = ()
    # A field with arguments (a connection): its number in the operation, which names its bind
    # parameters and its arguments' shape (-1: none).
    site: int = -1


@dataclass(frozen=True, slots=True)
class RootSelection:
    key: str
    spec: RootSpec
    children: tuple[Selected, ...]
    # The root field's place among the fields with arguments (see Selected.site).
    site: int = -1
