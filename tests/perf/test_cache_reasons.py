"""The load report's measured reasons for a data type without a cache (perf/load/cache_reasons.py)."""

from __future__ import annotations

from perf.load.cache_reasons import list_cache_ceiling, read_along
from perf.load.markdown import render
from perf.load.metrics import parse as parse_metrics
from perf.load.report import LoadInputs, build_report
from perf.load.samples import Sample
from perf.load.scenarios import SCENARIOS


def _sample(t: float, name: str, *, project: str = "", sql: int = 1, ok: bool = True) -> Sample:
    return Sample(1000.0 + t, name, 10.0, 200 if ok else 503, 512, ok, sql, project)


def test_the_exact_list_cache_is_dropped_only_by_a_create_in_its_own_project() -> None:
    # Given reads of two projects, a create in the first between them, and a refused create in the second
    samples = [
        _sample(0, "list:TaskList", project="P1"),  # first read: counted as a hit (warm), cold
        _sample(1, "list:TaskList", project="P1"),  # hit
        _sample(2, "write:TaskCreate", project="P1", sql=3),  # drops P1
        _sample(3, "list:TaskList", project="P2"),  # first read of P2: hit (warm), cold
        _sample(4, "list:TaskList", project="P1"),  # miss, fills
        _sample(5, "write:TaskCreate", project="P2", sql=3, ok=False),  # refused: drops nothing
        _sample(6, "list:TaskList", project="P2"),  # hit
        _sample(7, "write:TaskUpdate", sql=3),  # no project: the load's updates touch no first page
        _sample(8, "list:TaskList", project="P1"),  # hit
    ]
    # When they are replayed out of order (samples are written as answers end)
    ceiling = list_cache_ceiling(list(reversed(samples)))
    # Then only the read after the create missed
    assert (ceiling.reads, ceiling.hits, ceiling.cold, ceiling.creates) == (6, 5, 2, 1)
    assert round(ceiling.hit_rate, 1) == 83.3


def test_profiles_projects_and_permissions_are_met_only_when_every_read_sent_one_statement() -> None:
    one = [_sample(0, "list:TaskList", project="P1"), _sample(1, "read:TaskDetail"), _sample(2, "search:S")]
    assert read_along(one, session_misses=0).holds
    # A task page that sent a second statement (a loader's) leaves something a cache could spare...
    two = [*one, _sample(3, "read:TaskDetail", sql=2)]
    assert not read_along(two, session_misses=0).holds
    # ...unless the run missed a session in the cache as often: that statement read the session
    assert read_along(two, session_misses=1).holds
    # A run without those reads measured nothing
    assert not read_along([_sample(0, "write:TaskCreate", project="P1", sql=3)], session_misses=0).holds


def test_the_report_meets_a_data_type_read_along_and_says_why() -> None:
    # Given a run whose reads each sent one statement and whose metrics show sessions only
    samples = [
        _sample(0, "list:TaskList", project="P1"),
        _sample(1, "list:TaskList", project="P1"),
        _sample(2, "write:TaskCreate", project="P1", sql=3),
        _sample(3, "list:TaskList", project="P1"),
        _sample(4, "read:TaskDetail"),
        _sample(5, "search:SearchTasks"),
    ]
    metrics = parse_metrics(
        'cache_hits_total{data_type="session"} 99\ncache_misses_total{data_type="session"} 1\n'
    )
    report = build_report(LoadInputs(SCENARIOS["baseline"], 10.0, 1000.0, samples, [], metrics))
    caches = {row.data_type: row for row in report.caches}
    # Then profiles, projects and permissions are met by the measured reason, task lists are not
    assert [caches[t].ok for t in ("user_profile", "project", "permission", "task_list")] == [
        True,
        True,
        True,
        False,
    ]
    assert report.cache_met == (4, 5)
    text = render(report, [])
    assert "(5 of 5 answers sent one statement; 0 more, as many as the 1 session misses allow)" in text
    assert "would have hit at most 66.7 % of its 3 list reads" in text
