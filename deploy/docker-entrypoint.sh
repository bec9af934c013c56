#!/bin/sh
# The image's entrypoint: one image, four commands. Each `exec`s Python, so the process itself
# receives the container's SIGTERM (uvicorn drains its requests and WebSockets, a worker finishes its
# job) instead of a shell that would not pass it on.
set -eu

usage="usage: docker-entrypoint.sh serve | worker [--burst] | migrate | documents FILE --client NAME"

if [ "$#" -eq 0 ]; then
  set -- serve
fi
command="$1"
shift

case "$command" in
  serve)
    # One uvicorn process per core is the rule (docs/operations.md); the orchestrator sets the count.
    exec python -m schema serve --workers "${TASKQL_SERVER_WORKERS:-1}" "$@"
    ;;
  worker)
    exec python -m jobs.worker "$@"
    ;;
  migrate)
    exec python -m schema migrate "$@"
    ;;
  documents)
    exec python -m schema documents "$@"
    ;;
  -h | --help | help)
    echo "$usage"
    ;;
  *)
    echo "docker-entrypoint.sh: unknown command '$command'" >&2
    echo "$usage" >&2
    exit 64
    ;;
esac
