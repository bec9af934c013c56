"""Webhook deliveries derived by the relay: once per event and endpoint however often it runs, only
for the endpoints that chose the type, and in a bounded number of statements."""

from __future__ import annotations

from sqlalchemy import select

from persistence.batch_reads import read_batch
from persistence.models import Event
from persistence.statements import count_statements
from resolvers.context import Services
from resolvers.webhook_rules import WebhookDerivation
from tests.notification_crew import MakeOrg
from tests.relays import own_relay
from tests.webhook_fixtures import add_endpoint, deliveries_of, unpublished_event

URL = "https://93.184.216.34/hook"


async def test_each_event_is_derived_once_per_endpoint_that_chose_its_type(
    services: Services, make_org: MakeOrg
) -> None:
    org, other = await make_org(), await make_org()
    wanted = await add_endpoint(services, org, URL, "s", ["task.updated", "task.created"])
    other_type = await add_endpoint(services, org, URL, "s", ["label.created"])
    foreign = await add_endpoint(services, other, URL, "s", ["task.updated"])
    event_id = await unpublished_event(services, org)
    # When the events are derived twice (a sweep after a crash), in one unit of work each
    events = Event.__table__
    for _ in range(2):
        async with services.db.unit_of_work() as conn:
            rows = (await conn.execute(select(events).where(events.c.id == event_id))).all()
            derivation = WebhookDerivation()
            derived = await derivation.derive(conn, rows, await read_batch(conn, derivation.needs(rows)))
        # Then both runs return the one delivery
        assert [(d.endpoint_id, d.event_id) for d in derived] == [(wanted, event_id)]
    [delivery] = await deliveries_of(services, wanted)
    assert (delivery.event_type, delivery.status, delivery.attempts) == ("task.updated", "pending", 0)
    assert await deliveries_of(services, other_type) == []
    assert await deliveries_of(services, foreign) == []


async def test_a_batch_costs_the_relay_two_more_statements_whatever_its_size_when_an_endpoint_matches(
    services: Services, make_org: MakeOrg
) -> None:
    quiet, hooked = await make_org(), await make_org()
    endpoint_id = await add_endpoint(services, hooked, URL, "s", ["task.updated"])
    counts: dict[str, list[int]] = {"quiet": [], "hooked": []}
    for size in (1, 12):
        for name, org in (("quiet", quiet), ("hooked", hooked)):
            ids = [await unpublished_event(services, org) for _ in range(size)]
            with count_statements() as counter:
                assert await own_relay(services, grace_seconds=0).publish(ids) == size
            counts[name].append(counter.count)
    # The endpoints come with the batch's one read either way; a match adds the insert (which returns
    # the deliveries) and, after the commit and the hand-over, the deliveries marked enqueued
    assert counts["quiet"][0] == counts["quiet"][1]
    assert counts["hooked"] == [counts["quiet"][0] + 2] * 2, counts
    assert len(await deliveries_of(services, endpoint_id)) == 13
