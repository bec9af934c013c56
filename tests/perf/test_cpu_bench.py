"""`make bench-cpu` without its runs: its options, the read mix and its weights, the requests it sends,
how it finds a process's connections, and its closing lines from made-up figures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import orjson
import pytest
from graphql import OperationDefinitionNode, parse
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from perf.cpu_bench.connections import ConnectionThreads, ThreadLedger, local_ports_to
from perf.cpu_bench.documents import Subjects, bodies, mix_shares, read_operations
from perf.cpu_bench.report import DocumentCpu, EngineRun, closing_line, combined, mix_cpu_ms, search_line
from perf.cpu_bench.run import TRACING_VARIANTS, engine_order, parse_options, server_environment
from perf.shared.config import BenchEnvironment
from perf.shared.dataset import Viewer
from tests.services import MARIADB_HOST, MARIADB_PORT

SUBJECTS = Subjects(project_ids=["UHJvamVjdDox", "UHJvamVjdDoy"], task_ids=["VGFzazox", "VGFzazoy"])


def _document(key: str, name: str, server_seconds: float, mariadb_seconds: float) -> DocumentCpu:
    return DocumentCpu(
        key=key,
        name=name,
        requests=100,
        errors=0,
        seconds=5.0,
        server_seconds=server_seconds,
        mariadb_seconds=mariadb_seconds,
        mariadb_process_seconds=mariadb_seconds * 2,
        mariadb_threads=3,
    )


def _run(engine: str, factor: float) -> EngineRun:
    # Per request: list 4 + 1 ms, get 6 + 1 ms, search 3 + 20 ms, times ``factor`` on the server.
    return EngineRun(
        engine,
        [
            _document("list", "TaskList", 0.4 * factor, 0.1),
            _document("get", "TaskDetail", 0.6 * factor, 0.1),
            _document("search", "SearchTasks", 0.3 * factor, 2.0),
        ],
    )


def test_the_options_default_to_a_short_bounded_run() -> None:
    options = parse_options([])
    assert (options.rounds, options.requests, options.warmup, options.connections) == (2, 300, 50, 2)
    assert options.max_seconds == 45.0
    assert options.viewer is Viewer.MEMBER
    chosen = parse_options(["--requests", "20", "--viewer", "owner", "--max-seconds", "5"])
    assert (chosen.requests, chosen.viewer, chosen.max_seconds) == (20, Viewer.OWNER, 5.0)


@pytest.mark.parametrize(
    "arguments", [["--rounds", "0"], ["--requests", "0"], ["--connections", "0"], ["--max-seconds", "0"]]
)
def test_the_options_refuse_an_empty_run(arguments: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_options(arguments)


def test_the_reads_are_the_mix_s_list_task_page_and_search_by_their_weights() -> None:
    assert [operation.name for operation in read_operations()] == ["TaskList", "TaskDetail", "SearchTasks"]
    shares = mix_shares()
    assert shares == pytest.approx({"list": 30 / 65, "get": 20 / 65, "search": 15 / 65})
    assert sum(shares.values()) == pytest.approx(1.0)


def test_each_request_names_its_document_and_exactly_the_variables_it_declares() -> None:
    for operation in read_operations():
        [definition] = [
            d for d in parse(operation.body).definitions if isinstance(d, OperationDefinitionNode)
        ]
        declared = {variable.variable.name.value for variable in definition.variable_definitions or ()}
        sent = [orjson.loads(body) for body in bodies(operation, SUBJECTS, 5, seed=2)]
        assert len(sent) == 5
        for request in sent:
            assert request["documentId"] == operation.document_id
            assert set(request["variables"]) == declared


def test_the_same_seed_sends_each_engine_the_same_requests() -> None:
    [operation, *_] = read_operations()
    assert bodies(operation, SUBJECTS, 20, seed=2) == bodies(operation, SUBJECTS, 20, seed=2)
    assert bodies(operation, SUBJECTS, 20, seed=2) != bodies(operation, SUBJECTS, 20, seed=1)


def test_rounds_alternate_which_engine_goes_first() -> None:
    assert engine_order(1) == [(1, "compiled"), (1, "resolvers")]
    assert engine_order(3) == [
        (1, "compiled"),
        (1, "resolvers"),
        (2, "resolvers"),
        (2, "compiled"),
        (3, "compiled"),
        (3, "resolvers"),
    ]


def test_tracing_compares_the_compiled_engine_traced_against_untraced() -> None:
    assert parse_options(["--tracing"]).tracing
    assert not parse_options([]).tracing
    assert engine_order(2, TRACING_VARIANTS) == [
        (1, "traced"),
        (1, "untraced"),
        (2, "untraced"),
        (2, "traced"),
    ]
    base = BenchEnvironment({"TASKQL_ENVIRONMENT": "production"})
    traced = server_environment(base, "traced", "http://127.0.0.1:4318").variables
    untraced = server_environment(base, "untraced", "http://127.0.0.1:4318").variables
    assert traced["TASKQL_EXECUTION_ENGINE"] == untraced["TASKQL_EXECUTION_ENGINE"] == "compiled"
    assert traced["TASKQL_TRACING_ENABLED"] == "true"
    assert traced["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert "TASKQL_TRACING_ENABLED" not in untraced
    assert traced["OTEL_TRACES_SAMPLER_ARG"] == "1.0"
    sampled = server_environment(base, "traced", "http://127.0.0.1:4318", 0.05).variables
    assert sampled["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert sampled["OTEL_TRACES_SAMPLER_ARG"] == "0.05"
    assert parse_options(["--tracing", "--trace-ratio", "0.05"]).trace_ratio == 0.05


def test_an_engine_s_rounds_add_up_to_one_figure_per_request() -> None:
    # Given two rounds of one engine, the second twice as costly on the server
    both = combined([_run("resolvers", 1.0), _run("resolvers", 2.0)])
    # Then each document counts every request, and its CPU per request is the rounds' mean
    assert both.engine == "resolvers"
    listed = both.document("list")
    assert (listed.requests, listed.seconds) == (200, 10.0)
    assert listed.server_ms == pytest.approx(6.0)
    assert listed.mariadb_ms == pytest.approx(1.0)


def test_the_mix_weighs_each_document_by_its_share() -> None:
    run = _run("compiled", 1.0)
    assert run.document("search").mariadb_ms == pytest.approx(20.0)
    assert run.document("list").cpu_ms == pytest.approx(5.0)
    assert mix_cpu_ms(run, mix_shares()) == pytest.approx((30 * 5 + 20 * 7 + 15 * 23) / 65)


def test_the_closing_lines_name_both_engines_and_their_ratio() -> None:
    compiled, resolvers = _run("compiled", 0.5), _run("resolvers", 1.0)
    shares = mix_shares()
    expected_compiled = (30 * 3 + 20 * 4 + 15 * 21.5) / 65
    expected_resolvers = (30 * 5 + 20 * 7 + 15 * 23) / 65
    assert closing_line(compiled, resolvers, shares) == (
        f"mix_cpu_ms={expected_compiled:.2f} resolvers_mix_cpu_ms={expected_resolvers:.2f} "
        f"ratio={expected_compiled / expected_resolvers:.2f}"
    )
    assert search_line([compiled, resolvers]) == "search_db_ms=20.00 resolvers_search_db_ms=20.00"


def test_a_process_s_connections_are_found_by_their_ports() -> None:
    # Given this process connected to a listening socket of its own
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            with accepted:
                # Then its connection to that port is found, by the client's local port
                assert local_ports_to(os.getpid(), port) == {client.getsockname()[1]}
    assert local_ports_to(os.getpid(), port) == set()


# A client process of its own (the suite's process holds connections of its own that come and go):
# "open" connects and prints the connection's MariaDB thread, "close" closes the newest connection.
_CLIENT = """
import sys, pymysql
held = []
for line in sys.stdin:
    if line.strip() == "open":
        held.append(pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="root"))
        with held[-1].cursor() as cursor:
            cursor.execute("SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
            print(cursor.fetchone()[0], flush=True)
    else:
        held.pop().close()
        print("closed", flush=True)
"""


class _Client:
    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-c", _CLIENT, MARIADB_HOST, str(MARIADB_PORT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def _say(self, command: str) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def open(self) -> int:
        return int(self._say("open"))

    def close(self) -> None:
        assert self._say("close") == "closed"


async def test_the_processlist_is_read_only_for_a_connection_not_seen_before(database: str) -> None:
    # Given a client process with one connection to MariaDB, watched through a probe of ours
    client = _Client()
    probe_engine = create_async_engine(database, poolclass=NullPool)
    reads: list[str] = []
    event.listen(probe_engine.sync_engine, "before_cursor_execute", lambda *a: reads.append(a[2]))
    try:
        first = client.open()
        async with probe_engine.connect() as probe:
            threads = ConnectionThreads(probe, client.process.pid, MARIADB_PORT)
            # Then the first look reads the processlist and finds its thread
            assert await threads.current() == {first}
            assert len(reads) == 1
            # And looking again with the same connection open reads nothing
            assert await threads.current() == {first}
            assert len(reads) == 1
            # When it opens a second connection, the next look reads the processlist once
            second = client.open()
            assert await threads.current() == {first, second}
            assert len(reads) == 2
            # And once that one is closed, its thread is no longer counted, without a read
            client.close()
            assert await threads.current() == {first}
            assert len(reads) == 2
    finally:
        client.process.kill()
        client.process.communicate()  # waits, and closes its pipes
        await probe_engine.dispose()


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_the_ledger_counts_a_thread_s_cpu_only_while_it_is_seen() -> None:
    # Given this thread, seen before and after it spins
    ledger, me = ThreadLedger(os.getpid()), frozenset({threading.get_native_id()})
    ledger.observe(me)
    _spin(0.05)
    ledger.observe(me)
    counted = ledger.seconds()
    assert counted >= 0.04  # the kernel brings a running thread's figure up to date at its ticks
    # When it spins again but is no longer among the threads seen
    _spin(0.05)
    ledger.observe(frozenset())
    # Then that work is not counted
    assert ledger.seconds() == counted
    assert ledger.threads == 1
