"""The load's own people (not `make bench`'s one organization): several organizations whose users are
mostly members of one to five projects, as a company's staff are, and one owner-heavy organization kept
as a separate case (every user an owner, so every list and write spans every project).

Seeded once into the load's database (each organization is skipped when its slug is there), by the same
generator as the benches (persistence/seed.py): each project gets its owner plus `members_per_project`
people drawn at random, which spreads about two memberships over each user; a user left with no project
it may edit is then made an editor of one, so every virtual user can write.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text, update

from perf.shared import config
from perf.shared.progress import stage
from persistence.enums import OrgRole
from persistence.migrate import upgrade_to_head
from persistence.models import Organization, User
from persistence.seed import SeedSizes, seed_organization
from resolvers.context import Services

_organizations = Organization.__table__
_users = User.__table__


class Population(enum.StrEnum):
    # The realistic case: the virtual users are the staff of the several organizations.
    REALISTIC = "realistic"
    # The separate case: the virtual users are the owners of the owner-heavy organization.
    OWNERS = "owners"


@dataclass(frozen=True)
class OrganizationShape:
    slug: str
    sizes: SeedSizes
    owner_heavy: bool = False

    @property
    def owner_email(self) -> str:
        return f"owner@{self.slug}.taskql.dev"


# 4 x 250 users: a 1,000-user run has 1,000 distinct people. With 50 projects of 1 + 10 members, a
# user is in about 2 projects (binomial: about 13 % in none before the fix-up, 2 % in more than 5).
_STAFF = SeedSizes(users=250, projects=50, tasks=12_000, comments_per_task=1.0, members_per_project=10)
_OWNERS = SeedSizes(users=100, projects=20, tasks=2_000, comments_per_task=1.0, members_per_project=12)
SHAPES: tuple[OrganizationShape, ...] = (
    *(OrganizationShape(f"load-{n}", _STAFF) for n in range(1, 5)),
    OrganizationShape("load-owners", _OWNERS, owner_heavy=True),
)


async def _organization_id(services: Services, slug: str) -> int | None:
    async with services.db.read() as conn:
        found = await conn.execute(select(_organizations.c.id).where(_organizations.c.slug == slug))
        value = found.scalar_one_or_none()
    return None if value is None else int(value)


async def _seed(services: Services, shape: OrganizationShape, rng_seed: int) -> int:
    seeded = await seed_organization(
        services.db, services.passwords, shape.sizes, slug=shape.slug, owner_email=shape.owner_email,
        password=config.PASSWORD, rng_seed=rng_seed,
    )  # fmt: skip
    if shape.owner_heavy:
        async with services.db.unit_of_work() as conn:
            in_organization = _users.c.organization_id == seeded.organization_id
            await conn.execute(update(User).where(in_organization).values(role=OrgRole.OWNER))
    return seeded.organization_id


async def ensure_population(
    services: Services, shapes: Sequence[OrganizationShape] = SHAPES
) -> dict[OrganizationShape, int]:
    """Migrates, then seeds each organization whose slug is missing; each shape's organization id."""
    await upgrade_to_head(services.db.engine)
    ids: dict[OrganizationShape, int] = {}
    seeded_any = False
    for n, shape in enumerate(shapes):
        existing = await _organization_id(services, shape.slug)
        if existing is None:
            # A seed of its own per organization: their memberships differ.
            with stage(f"seeding {shape.slug}: {shape.sizes} (first run only)"):
                existing = await _seed(services, shape, rng_seed=42 + n)
            seeded_any = True
        ids[shape] = existing
    if seeded_any:
        async with services.db.read() as conn:
            # Fresh statistics, so MariaDB plans the joins on the data it now holds.
            for table in ("tasks", "projects", "users", "project_members"):
                await conn.execute(text(f"ANALYZE TABLE `{table}`"))
    return ids


def chosen(ids: dict[OrganizationShape, int], population: Population) -> list[int]:
    """The organizations whose users the virtual users are."""
    owner_heavy = population is Population.OWNERS
    return [organization_id for shape, organization_id in ids.items() if shape.owner_heavy == owner_heavy]
