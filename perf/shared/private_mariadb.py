"""A mariadbd of its own: a fresh data directory, its own port and socket, stopped, restarted, frozen
or killed under a running server while the shared MariaDB (and its other users) is untouched.

``start_private_replication`` starts two: a primary writing its binary log and a replica (server id 2)
replicating everything from it, for the read replica's tests."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from perf.shared.local_processes import binary, free_port

STARTUP_SECONDS = 30.0


@dataclass
class PrivateMariaDB:
    port: int
    directory: Path  # the data directory, the socket, the error log
    process: subprocess.Popen[bytes]
    arguments: list[str]

    @property
    def server_url(self) -> str:
        """The server without a database: ``{server_url}/{name}`` names one."""
        return f"mysql+aiomysql://root@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.server_url}/{database}"

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def create_database(self, name: str) -> None:
        """Through the server's socket with the client binary: no event loop needed."""
        self.run_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def run_sql(self, statements: str) -> str:
        """``statements`` run by the client binary through the socket; what they print, tab-separated
        without column names."""
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [
                binary("mariadb", "mysql"),
                "--no-defaults",
                f"--socket={self.directory / 'mariadb.sock'}",
                "-uroot",
                "--batch",
                "--skip-column-names",
                "-e",
                statements,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def stop(self) -> None:
        """SIGTERM: a clean shutdown, every connection closed by the server."""
        if self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            self.process.wait(timeout=STARTUP_SECONDS)

    def kill(self) -> None:
        """SIGKILL: a crash; InnoDB recovers on the next start."""
        if self.process.poll() is None:
            self.thaw()
            self.process.kill()
            self.process.wait(timeout=10)

    def start(self) -> None:
        """On the same port and data: what was committed is there again."""
        self.process = _spawn(self.arguments, self.directory)
        _wait_until_listening(self)

    def restart(self) -> None:
        self.stop()
        self.start()

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _spawn(arguments: list[str], directory: Path) -> subprocess.Popen[bytes]:
    with (directory / "stdout.log").open("ab") as out:
        return subprocess.Popen(arguments, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - fixed arguments


def _wait_until_listening(server: PrivateMariaDB) -> None:
    """Until the server answers a handshake (its first bytes) on the port, not merely accepts."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited with {server.process.returncode}:\n{server.error_log()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5) as probe:
                if probe.recv(1):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(
        f"mariadbd did not answer on {server.port} within {STARTUP_SECONDS} s:\n{server.error_log()}"
    )


def _install(directory: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            binary("mariadb-install-db", "mysql_install_db"),
            "--no-defaults",
            f"--datadir={directory / 'data'}",
            f"--user={getpass.getuser()}",
            "--auth-root-authentication-method=normal",  # root without a password, as on the shared one
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )


def _server_arguments(
    mariadbd: str, directory: Path, port: int, *, server_id: int | None = None
) -> list[str]:
    """``server_id``: a member of a replication pair (the binary log on, under that id); None: a
    server alone, without a binary log."""
    logging = ["--skip-log-bin"] if server_id is None else [f"--server-id={server_id}", "--log-bin=binlog"]
    return [
        mariadbd,
        "--no-defaults",
        f"--datadir={directory / 'data'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={directory / 'mariadb.sock'}",
        f"--pid-file={directory / 'mariadb.pid'}",
        f"--log-error={directory / 'error.log'}",
        f"--user={getpass.getuser()}",  # mariadbd refuses to run as root unless told to
        *logging,
        "--innodb-buffer-pool-size=32M",
        "--innodb-log-file-size=16M",
    ]


def start_private_mariadb(directory: Path, *, server_id: int | None = None) -> PrivateMariaDB:
    """A fresh server in ``directory`` (short: a Unix socket's path is limited to about 100 bytes) on a
    free port. Raises NotInstalled without the MariaDB binaries; the caller stops it (``kill``)."""
    mariadbd = binary("mariadbd", "mysqld")
    _install(directory)
    port = free_port()
    arguments = _server_arguments(mariadbd, directory, port, server_id=server_id)
    server = PrivateMariaDB(port, directory, _spawn(arguments, directory), arguments)
    try:
        _wait_until_listening(server)
    except BaseException:
        server.kill()
        raise
    return server


@dataclass
class PrivateReplication:
    primary: PrivateMariaDB
    replica: PrivateMariaDB

    def kill(self) -> None:
        self.replica.kill()
        self.primary.kill()


def start_private_replication(directory: Path) -> PrivateReplication:
    """A primary (server id 1, its binary log on) and a replica (server id 2) replicating from it
    from the primary's first transaction on: a database created on the primary appears on the
    replica. The caller stops both (``kill``)."""
    primary = start_private_mariadb(_fresh(directory / "p"), server_id=1)
    try:
        replica = start_private_mariadb(_fresh(directory / "r"), server_id=2)
    except BaseException:
        primary.kill()
        raise
    pair = PrivateReplication(primary, replica)
    try:
        # Both fresh: the replica starts from the primary's empty GTID position and applies all.
        replica.run_sql(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', "
            f"MASTER_PORT={primary.port}, MASTER_USER='root', MASTER_USE_GTID=slave_pos; "
            "START SLAVE"
        )
    except BaseException:
        pair.kill()
        raise
    return pair


def _fresh(directory: Path) -> Path:
    directory.mkdir()
    return directory
