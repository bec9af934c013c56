"""`python -m schema [serve|migrate|documents FILE --client NAME|operator grant|revoke EMAIL]`: run the
server (the default), apply migrations, register a manifest of trusted documents, or make a user a
platform operator (or no longer one)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path

import uvicorn

from persistence.db import create_engine
from persistence.logs import logging_config
from persistence.metrics_export import MULTIPROC_ENV, prepare_multiprocess_dir
from persistence.migrate import Upgrade, upgrade_to_head
from persistence.seed import DEMO_EMAIL, DEMO_PASSWORD
from persistence.settings import get_settings
from schema import operator_command, register_documents
from schema.database_errors import database_errors_as_one_line


async def _migrate() -> Upgrade:
    engine = create_engine(get_settings(), null_pool=True)
    try:
        return await upgrade_to_head(engine)
    finally:
        await engine.dispose()


def _print_upgrade(upgrade: Upgrade) -> None:
    if not upgrade.applied:
        print(f"already at head {upgrade.head}")
    for revision, description in upgrade.applied:
        print(f"applied {revision}: {description}")


def listen_refusal(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (a port taken, say), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port whose last connections are in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            return (error.strerror or str(error)).lower()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m schema")
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "documents", "operator"]
    )
    parser.add_argument("arguments", nargs="*", help="documents: FILE; operator: grant|revoke EMAIL")
    parser.add_argument("--client", help="documents: the client the manifest belongs to")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    if args.command == "migrate":
        with database_errors_as_one_line(settings.database_url):
            _print_upgrade(asyncio.run(_migrate()))
        return
    if args.command == "documents":
        if len(args.arguments) != 1 or not args.client:
            parser.error("documents needs FILE and --client NAME")
        with database_errors_as_one_line(settings.database_url):
            sys.exit(register_documents.main(Path(args.arguments[0]), args.client))
    if args.command == "operator":
        if len(args.arguments) != 2 or args.arguments[0] not in ("grant", "revoke"):
            parser.error("operator needs grant|revoke EMAIL")
        with database_errors_as_one_line(settings.database_url):
            sys.exit(operator_command.main(args.arguments[0], args.arguments[1]))
    if args.arguments:
        parser.error(f"{args.command} takes no arguments")
    refusal = listen_refusal(settings.host, settings.port)
    if refusal is not None:
        # Before anything starts: uvicorn binds only after the lifespan (migrations, seeding, the job
        # thread) and would log the error among their lines.
        print(f"taskql: cannot listen on {settings.host}:{settings.port}: {refusal}", file=sys.stderr)
        sys.exit(1)
    if settings.uses_sqlite:
        Path("var").mkdir(exist_ok=True)
    # Several workers share their metrics through files: the directory must be in the environment
    # before uvicorn spawns them (prometheus-client reads it when a worker makes its first metric).
    metrics_dir = prepare_multiprocess_dir() if args.workers > 1 and MULTIPROC_ENV not in os.environ else None
    print(f"taskql: GraphQL at http://{settings.host}:{settings.port}/graphql", flush=True)
    if settings.is_development and settings.seed_demo_data:
        print(f"taskql: demo login {DEMO_EMAIL} / {DEMO_PASSWORD}", flush=True)
    uvicorn.run(
        "schema.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        # uvicorn would otherwise buffer WebSocket frames up to 16 MiB before the app's own bound.
        ws_max_size=settings.ws_max_message_bytes,
        # Open subscriptions would otherwise hold a graceful shutdown forever.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        log_level="info",
        log_config=logging_config(settings.log_level, settings.resolved_log_format),
    )
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
