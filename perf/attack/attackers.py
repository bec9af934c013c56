"""The attack load, in a process of its own (so its CPU does not delay the normal load's clock):
connections sending one kind of attack each, flat out (closed loop), until the time is up.

    python -m perf.attack.attackers --spec attack.json --seconds 30 --connections 10 --kinds all

The kinds (perf/attack/world.py makes their principals, perf/attack/documents.py their documents):

- ``expensive``: an admin runs the overview at the highest cost the limit admits (429 once its
  bucket is spent);
- ``limits``: an operator's free text, aliases or depth multiplied through fragments (400);
- ``over_limit``: the overview with page sizes far over the cost limit (400);
- ``logins``: anonymous wrong-password logins, one known email and new unknown ones, all from one
  address (throttled, then 429 once the address's anonymous bucket is spent);
- ``free_text``: a read-only API key sending a document that is not trusted (403).

It prints one line, ``ATTACK_RESULT {json}``: answers by kind, status and code, the seconds it ran,
and its own CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from perf.attack import documents
from perf.attack.normal_load import post, request_headers
from perf.shared.keepalive import KeepAlive
from perf.shared.pyload import loop_factory

RESULT_PREFIX = "ATTACK_RESULT "
READY_LINE = "ATTACK_READY"
KINDS = ("expensive", "limits", "over_limit", "logins", "free_text")


@dataclass(frozen=True)
class Kind:
    name: str
    credentials: dict[str, str]
    body: Callable[[int], bytes]  # from a nonce unique in the run


def _trusted(document_id: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"documentId": document_id, "variables": variables})


def _text(query: str) -> bytes:
    return orjson.dumps({"query": query})


def _bomb(nonce: int) -> bytes:
    return _text(documents.alias_bomb(nonce) if nonce % 2 else documents.depth_bomb(nonce))


def _login(guessed_email: str) -> Callable[[int], bytes]:
    def body(nonce: int) -> bytes:
        # Half at one account (throttled per email), half at new addresses (throttled per address).
        email = guessed_email if nonce % 2 else f"guess-{nonce}@example.test"
        return _trusted(documents.LOGIN, {"input": {"email": email, "password": f"wrong-{nonce}"}})

    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def kinds(spec: dict[str, Any]) -> dict[str, Kind]:
    """Every kind from the spec perf.attack writes (perf/attack/world.py's ``Attackers``)."""
    rng = random.Random(11)
    overview = documents.OVERVIEW
    expensive = _trusted(overview, spec["expensive_variables"])

    def over_limit(_nonce: int) -> bytes:
        return _trusted(overview, documents.over_limit_variables(rng, spec["max_page_size"]))

    def free_text(nonce: int) -> bytes:
        return _text(documents.free_text(nonce))

    return {
        "expensive": Kind("expensive", _bearer(spec["expensive_token"]), lambda _nonce: expensive),
        "limits": Kind("limits", _bearer(spec["operator_token"]), _bomb),
        "over_limit": Kind("over_limit", _bearer(spec["over_limit_token"]), over_limit),
        "logins": Kind("logins", {}, _login(spec["guessed_email"])),
        "free_text": Kind("free_text", {"X-Api-Key": spec["api_key"]}, free_text),
    }


async def _attack(
    url: str, kind: Kind, deadline: float, nonces: itertools.count[int], tally: Counter[str]
) -> None:
    connection = KeepAlive(url, request_headers(kind.credentials))
    try:
        while time.monotonic() < deadline:
            status, code = await post(connection, kind.body(next(nonces)))
            tally[f"{kind.name} {status} {code or '-'}"] += 1
    finally:
        connection.close()


async def run(url: str, chosen: list[Kind], connections: int, seconds: float) -> dict[str, Any]:
    """``connections`` spread round robin over the chosen kinds, each flat out for ``seconds``."""
    tally: Counter[str] = Counter()
    nonces = itertools.count(1)
    cpu_before, started = time.process_time(), time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(_attack(url, chosen[n % len(chosen)], deadline, nonces, tally) for n in range(connections))
    )
    return {
        "answers": dict(sorted(tally.items())),
        "seconds": time.monotonic() - started,
        "cpu_seconds": time.process_time() - cpu_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument(
        "--kinds", default="all", help=f"'all' or a comma-separated list of {', '.join(KINDS)}"
    )
    args = parser.parse_args()
    spec = json.loads(args.spec.read_text())
    if not spec["url"].startswith("http://127.0.0.1:"):
        raise SystemExit("perf.attack.attackers only sends to 127.0.0.1")
    if not 0 < args.seconds <= 600 or not 0 < args.connections <= 100:
        raise SystemExit("--seconds must be in (0, 600] and --connections in 1..100 (a bounded load)")
    names = list(KINDS) if args.kinds == "all" else [name.strip() for name in args.kinds.split(",")]
    every = kinds(spec)
    print(READY_LINE, flush=True)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result = runner.run(run(spec["url"], [every[name] for name in names], args.connections, args.seconds))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
