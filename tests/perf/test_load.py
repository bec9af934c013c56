"""The load scenarios without load: their documents are valid trusted documents of the right class,
registered by the run's own function, and the report turns samples into the right pass/fail cells."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from graphql import OperationDefinitionNode, parse

from perf.load.cpu import CpuLedger
from perf.load.markdown import FAIL, PASS, render
from perf.load.metrics import parse as parse_metrics
from perf.load.report import LoadInputs, build_report
from perf.load.samples import Sample
from perf.load.scenarios import SCENARIOS
from perf.load.token_clock import REFRESH_MARGIN_SECONDS, AccessToken
from perf.shared.cpu import children, group_members
from perf.shared.load_documents import manifest, register
from perf.shared.load_mix import CLIENT_NAME, OPERATIONS
from perf.shared.machine_speed import measure
from resolvers.context import Services
from resolvers.trusted_documents import TrustedDocuments
from schema.build import build_schema
from schema.guard.operation_class import classify
from tests.conftest import make_settings


def test_the_mix_adds_up_to_the_seed_example() -> None:
    weights = {key: operation.weight for key, operation in OPERATIONS.items()}
    assert sum(weights.values()) == 100
    assert (weights["list"], weights["get"], weights["create"]) == (30, 20, 10)


def test_each_operation_is_of_the_class_it_is_reported_under() -> None:
    schema = build_schema()._schema
    for operation in OPERATIONS.values():
        document = parse(operation.body)
        [definition] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert definition.name is not None
        assert definition.name.value == operation.name
        assert classify(schema, document, definition).value == operation.operation_class


async def test_the_run_registers_every_operation_as_a_trusted_document(services: Services) -> None:
    # Given the operations the virtual users send
    # When the run's registration runs twice (a second run finds them in place)
    first = await register(services.db, services.settings)
    again = await register(services.db, services.settings)
    # Then each validated and is stored under its id, with its text, once
    assert first.registered + first.unchanged == len(OPERATIONS)
    assert (again.registered, again.unchanged) == (0, len(OPERATIONS))
    trusted = TrustedDocuments(services.db)
    await trusted.refresh()
    for operation in manifest():
        stored = trusted.get(document_id=operation.document_id)
        assert stored is not None
        assert stored.body == operation.body
        assert stored.client_name == CLIENT_NAME


def _sample(t: float, name: str, ms: float, *, status: int = 200, ok: bool = True, sql: int = 2) -> Sample:
    return Sample(started=1000.0 + t, name=name, response_ms=ms, status=status, size=2048, ok=ok, sql=sql)


def test_the_report_marks_each_cell_against_the_seed() -> None:
    # Given a baseline run where list requests are fast and the few searches slow, one failing with 503
    samples = [_sample(i * 0.1, "list:TaskList", 20.0 + i % 10) for i in range(100)]
    samples += [_sample(i * 0.1, "search:SearchTasks", 900.0) for i in range(4)]
    samples.append(_sample(5.0, "search:SearchTasks", 7000.0, status=503, ok=False, sql=6))
    metrics = parse_metrics(
        'cache_hits_total{data_type="session"} 99\ncache_misses_total{data_type="session"} 1\n'
        'cache_hits_total{data_type="task_list"} 50\ncache_misses_total{data_type="task_list"} 50\n'
    )
    inputs = LoadInputs(SCENARIOS["baseline"], 20.0, 1000.0, samples, [], metrics)
    # When the report is built
    report = build_report(inputs)
    # Then the list row passes every latency cell and the search row fails them
    rows = {row.operation_class: row for row in report.classes}
    assert rows["list"].latency is not None
    assert rows["search"].latency is not None
    assert [cell.ok for cell in rows["list"].latency] == [True, True, True, True]
    assert [cell.ok for cell in rows["search"].latency] == [False, False, False, False]
    assert rows["search"].latency[0].value == 900.0
    assert rows["search"].latency[3].value == 7000.0
    # And the failure, the status mix, SQL over budget and the cache rates are counted
    assert (report.requests, report.failures) == (105, 1)
    assert report.statuses[503][0] == 1
    assert report.bar == (True, False)  # p95 under 200 ms overall, but not 0 errors
    assert rows["search"].sql_max is not None
    assert not rows["search"].sql_max.ok
    assert rows["list"].sql_max is not None
    assert rows["list"].sql_max.ok
    caches = {row.data_type: row for row in report.caches}
    assert (caches["session"].hit_rate, caches["session"].ok) == (99.0, True)
    assert (caches["task_list"].hit_rate, caches["task_list"].ok) == (50.0, False)
    # And the Markdown shows the cells with their marks
    text = render(report, [])
    assert f"| list | 100 | 0 | 24 / 150 {PASS} | 29 / 400 {PASS} |" in text
    assert f"| search | 5 | 1 | 900 / 200 {FAIL} | 7000 / 600 {FAIL} |" in text
    assert "| 503 | 1 | 0.95 % | 7000 |" in text


def test_the_spike_report_says_when_p95_came_back() -> None:
    # Given a 100 s spike run: 20 s at 50 ms, 20 s of spike at 2 s, then 50 ms again from 60 s on
    def ms(t: float) -> float:
        return 2000.0 if 20 <= t < 40 or 40 <= t < 60 else 50.0

    samples = [_sample(t / 2, "list:TaskList", ms(t / 2)) for t in range(200)]
    # When the report is built
    report = build_report(LoadInputs(SCENARIOS["spike"], 100.0, 1000.0, samples, [], None))
    # Then p95 was back 20 s after the spike's end, within the 2-minute bar
    assert report.recovery is not None
    assert report.recovery.baseline_p95 == 50.0
    assert report.recovery.seconds == 20.0
    assert report.recovery.ok


def test_the_report_also_shows_the_classes_after_the_ramp_up() -> None:
    # Given a baseline run (100 users started at 10/s: a 10 s ramp) whose logins are slow only while
    # the users start, and whose server's RSS grows only in its first seconds
    samples = [_sample(t, "auth:AuthLogin", 400.0 if t < 10 else 40.0) for t in range(0, 60, 2)]
    rss = [(1000.0 + t, "server", (300 if t < 5 else 500) * 2**20) for t in range(0, 60, 5)]
    # When the report is built
    report = build_report(LoadInputs(SCENARIOS["baseline"], 60.0, 1000.0, samples, rss, None))
    # Then the whole run shows the ramp's slow logins, the steady part does not
    [whole] = report.classes
    [steady] = report.steady_classes
    assert whole.latency is not None
    assert steady.latency is not None
    assert whole.latency[1].value == 400.0
    assert (steady.requests, steady.latency[1].value) == (25, 40.0)
    assert report.steady_from_seconds == 10.0
    # And the RSS trend is fitted after the warm-up: flat, not the start-up's jump
    [trend] = report.rss
    assert trend.slope_mb_per_hour == 0.0
    text = render(report, [])
    assert "## The same after the ramp-up (from 10 s on, every user started)" in text
    # And the run's logins came without a refresh, which the report says
    assert "No token refreshes in this run" in text


def test_the_cpu_ledger_charges_a_busy_process_and_not_an_idle_one() -> None:
    # Given a server-like parent whose child waits half a second, spins 0.6 s of CPU, then sleeps
    spin = (
        "import time\ntime.sleep(0.5)\nend = time.process_time() + 0.6\n"
        "while time.process_time() < end: pass\ntime.sleep(30)"
    )
    launch = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}])"
    parent = subprocess.Popen([sys.executable, "-c", launch])  # noqa: S603 - our interpreter, our code
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while not children(parent.pid):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # When the ledger covers the child's spin
        ledger = CpuLedger(parent.pid, idle.pid)
        time.sleep(1.6)
        use = ledger.finish()
    finally:
        for pid in children(parent.pid):
            os.kill(pid, signal.SIGKILL)
        for process in (parent, idle):
            process.kill()
            process.wait()
    # Then the spin is charged to the server's workers, nothing to the idle job worker
    assert use.by_part["server workers"] >= 0.4
    assert use.by_part["job worker"] < 0.1
    assert use.machine >= use.by_part["server workers"]
    # And the line gives the server's CPU per request and how busy the machine was
    line = use.describe(requests=100)
    assert f"{use.by_part['server workers'] * 10:.1f} ms of server CPU per request" in line
    assert f"{use.machine / (use.seconds * (os.cpu_count() or 1)):.0%}" in line


def test_the_machine_speed_is_measured_in_milliseconds() -> None:
    speed = measure(make_settings(), runs=1)
    # One argon2id verification at the server's parameters takes milliseconds, not micro- or seconds
    assert 1 < speed.argon2_verify_ms < 2000
    assert 1 < speed.python_loop_ms < 10_000
    assert f"{speed.argon2_verify_ms:.0f} ms" in speed.describe()


def test_the_scenarios_have_this_machine_s_sizes_and_users_resizes_them() -> None:
    sizes = {name: scenario.peak_users for name, scenario in SCENARIOS.items()}
    assert sizes == {
        "baseline": 100,
        "normal": 250,
        "peak": 500,
        "stress": 1000,
        "spike": 1000,
        "endurance": 250,
    }
    # The seed's 10 minutes for the baseline, 30 for endurance
    assert (SCENARIOS["baseline"].default_seconds, SCENARIOS["endurance"].default_seconds) == (600, 1800)
    assert [stage.users for stage in SCENARIOS["spike"].stages] == [100, 1000, 100]
    # USERS= sets the peak; a spike keeps its shape and its ramp times
    spike = SCENARIOS["spike"].sized(500)
    assert [stage.users for stage in spike.stages] == [50, 500, 50]
    assert spike.ramp_seconds == SCENARIOS["spike"].ramp_seconds
    assert (SCENARIOS["normal"].sized(1000).peak_users, SCENARIOS["normal"].sized(1000).name) == (
        1000,
        "normal",
    )


def test_a_virtual_user_renews_its_token_before_it_expires() -> None:
    # Given a login's payload whose access token expires at 12:00:00 UTC
    token = AccessToken.from_payload(
        {"accessToken": "a", "refreshToken": "r", "accessTokenExpiresAt": "2026-12-07T12:00:00+00:00"}
    )
    expires = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()
    assert token.expires_at == expires
    # Then it is kept while more than the margin remains, renewed once less does, and not yet expired
    assert not token.needs_refresh(expires - REFRESH_MARGIN_SECONDS - 1)
    assert token.needs_refresh(expires - REFRESH_MARGIN_SECONDS + 1)
    assert not token.expired(expires - 1)
    assert token.expired(expires)
    # And the margin covers the wait between two requests (1-3 s) with room for a slow answer
    assert REFRESH_MARGIN_SECONDS > 3 * 3
    # And a time without a zone is read as UTC, the API's
    naive = AccessToken.from_payload(
        {"accessToken": "a", "refreshToken": "r", "accessTokenExpiresAt": "2026-12-07T12:00:00"}
    )
    assert naive.expires_at == expires


_CANNED_METRICS = """\
# TYPE cache_hits_total counter
cache_hits_total{data_type="session"} 990
cache_misses_total{data_type="session"} 10
cache_hits_total{data_type="user_profile"} 95
cache_misses_total{data_type="user_profile"} 5
cache_hits_total{data_type="project"} 80
cache_misses_total{data_type="project"} 20
cache_hits_total{data_type="permission"} 91
cache_misses_total{data_type="permission"} 9
cache_hits_total{data_type="apq"} 3
cache_misses_total{data_type="apq"} 1
"""


def test_the_cache_table_judges_each_seed_data_type_and_names_one_without_a_cache() -> None:
    # Given a run's /metrics where task lists were never looked up, project metadata hit 80 %
    report = build_report(
        LoadInputs(
            SCENARIOS["baseline"],
            20.0,
            1000.0,
            [_sample(1, "list:TaskList", 20)],
            [],
            parse_metrics(_CANNED_METRICS),
        )
    )
    caches = {row.data_type: row for row in report.caches}
    # Then each of the seed's data types is judged against its target, in the seed's order
    assert [row.data_type for row in report.caches] == [
        "session",
        "user_profile",
        "project",
        "task_list",
        "permission",
        "apq",
    ]
    assert [caches[t].ok for t in ("session", "user_profile", "project", "permission")] == [
        True,
        True,
        False,
        True,
    ]
    # And the data type without lookups is not met, and said to have no cache with the exact one's ceiling
    assert (caches["task_list"].lookups, caches["task_list"].ok) == (0, False)
    # And a data type outside the seed's table is shown but not judged
    assert caches["apq"].ok is None
    assert report.cache_met == (3, 5)
    text = render(report, [])
    assert (
        "| task lists | `task_list` | 0 | 0 | - | > 80 %: no lookups; no cache: an exact one (a project's "
        "first page for all its readers, dropped by each of the run's 0 creates) would have hit at most "
        f"0.0 % of its 0 list reads {FAIL} |" in text
    )
    assert f"| project metadata | `project` | 80 | 20 | 80.0 % | > 85 % {FAIL} |" in text
    assert f"| sessions | `session` | 990 | 10 | 99.0 % | > 95 % {PASS} |" in text


def test_auth_is_two_rows_and_the_run_closes_with_one_line() -> None:
    # Given 10 s of a normal run at 300 users: fast logins, one slow refresh, fast lists, and a shed list
    samples = [_sample(i * 0.1, "auth:AuthLogin", 30.0) for i in range(40)]
    samples += [_sample(i * 0.1, "auth:AuthRefresh", 20.0) for i in range(19)]
    samples.append(_sample(4.0, "auth:AuthRefresh", 900.0))
    samples += [_sample(i * 0.1, "list:TaskList", 50.0) for i in range(39)]
    samples.append(_sample(9.9, "list:TaskList", 5.0, status=503, ok=False))
    samples.append(_sample(9.9, "write:TaskCreate", 60.0, status=200, ok=False))
    scenario = SCENARIOS["normal"].sized(300)
    report = build_report(LoadInputs(scenario, 10.0, 1000.0, samples, [], parse_metrics(_CANNED_METRICS)))
    # Then logins and refreshes are two rows of the auth class, judged against its targets
    rows = {row.label: row for row in report.classes}
    assert [row.label for row in report.classes] == ["auth: logins", "auth: refreshes", "write", "list"]
    assert rows["auth: refreshes"].operation_class == "auth"
    assert (rows["auth: logins"].met, rows["auth: refreshes"].met) == (True, False)
    assert report.rows_met == (3, 4)
    # And the 503 counts as shed, the failed write as an error
    assert (report.shed, report.failures) == (1, 2)
    # And the closing line has the agreed format and the run's figures
    line = report.closing_line()
    pattern = (
        r"scenario=(\w+) users=(\d+) rps=([\d.]+) p95_ms=(\d+) errors_pct=([\d.]+) shed_pct=([\d.]+) "
        r"rows_met=(\d+)/(\d+) cache_met=(\d+)/(\d+)"
    )
    match = re.fullmatch(pattern, line)
    assert match is not None, line
    assert match.groups() == (
        "normal",
        "300",
        "10.1",  # 101 requests over 9.96 s
        "50",
        "0.99",
        "0.99",
        "3",
        "4",
        "3",
        "5",
    )
    assert f"| auth: refreshes | 20 | 0 | 20 / 50 {PASS} | 20 / 120 {PASS} | 900 / 200 {FAIL} |" in render(
        report, []
    )
    assert render(report, []).rstrip().endswith(f"{line}\n```")
    assert "No token refreshes in this run" not in render(report, [])


def test_a_process_group_is_listed_until_its_members_are_gone() -> None:
    # Given a process in a session (and so a process group) of its own, with a child
    leader = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen([sys.executable, "
         "'-c', 'import time; time.sleep(30)']); time.sleep(30)"],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while len(group_members(leader.pid)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # Then both are its members, and this process is not
        assert leader.pid in group_members(leader.pid)
        assert os.getpid() not in group_members(leader.pid)
    finally:
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
    # And once they are killed (the leader reaped), none is left
    deadline = time.monotonic() + 10
    while group_members(leader.pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
