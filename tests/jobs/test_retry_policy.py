"""The retry policies' computed waits: bounded, growing, capped, jittered."""

from __future__ import annotations

import random

from jobs.queues import EMAIL_RETRY, PUSH_RETRY, REPORT_RETRY, RetryPolicy
from jobs.templates import message_id


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - seeded, for repeatable jitter


def test_email_waits_grow_from_the_base_within_their_jitter_band() -> None:
    for seed in range(50):
        waits = EMAIL_RETRY.delays(30.0, _rng(seed))
        assert len(waits) == 3
        # Retry n waits between half of base * 2**n and all of it.
        for attempt, wait in enumerate(waits):
            full = 30 * 2**attempt
            assert full / 2 <= wait <= full, (seed, waits)
        assert waits == sorted(waits)


def test_jitter_spreads_the_waits() -> None:
    seen = {tuple(EMAIL_RETRY.delays(30.0, _rng(seed))) for seed in range(20)}
    assert len(seen) > 10


def test_the_waits_are_capped_at_600_seconds() -> None:
    waits = EMAIL_RETRY.delays(1000.0, _rng(1))
    assert all(300 <= wait <= 600 for wait in waits), waits
    steady = RetryPolicy(max_retries=8, backoff_max_seconds=600, jitter=False)
    assert steady.delays(30.0) == [30, 60, 120, 240, 480, 600, 600, 600]


def test_a_short_base_never_retries_at_once() -> None:
    assert EMAIL_RETRY.delays(0.01, _rng(3)) == [1, 1, 1]
    retry = EMAIL_RETRY.retry(0.25, _rng(3))
    assert (retry.max, retry.intervals) == (3, [1, 1, 1])


def test_the_message_id_names_event_and_recipient() -> None:
    sender = "taskql <no-reply@mail.example.com>"
    assert message_id(41, 7, sender) == "<notification.41.7@mail.example.com>"
    assert message_id(41, 7, sender) == message_id(41, 7, sender)
    assert message_id(41, 8, sender) != message_id(41, 7, sender)


def test_push_waits_stay_within_a_minute() -> None:
    # The default base (TASKQL_PUSH_BACKOFF_BASE_SECONDS=5): about 5, 10, 20 s, each jittered
    for seed in range(50):
        waits = PUSH_RETRY.delays(5.0, _rng(seed))
        assert len(waits) == 3
        assert all(5 * 2**attempt / 2 <= wait <= 5 * 2**attempt for attempt, wait in enumerate(waits))
    # And however long the base, a push never waits more than 60 s for a retry
    assert all(30 <= wait <= 60 for wait in PUSH_RETRY.delays(1000.0, _rng(2)))


def test_report_retries_wait_the_same_fixed_delay_without_jitter() -> None:
    # The seed's policy: 2 retries, 300 s each; the delay is the setting, never grown nor spread.
    assert REPORT_RETRY.delays(300.0, _rng(1)) == [300, 300]
    assert REPORT_RETRY.delays(2.0, _rng(2)) == [2, 2]
    retry = REPORT_RETRY.retry(300.0)
    assert (retry.max, retry.intervals) == (2, [300, 300])
