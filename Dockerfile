# One image for the API, the job worker, migrations and document registration (deploy/docker-entrypoint.sh):
# runtime dependencies only (requirements.lock; the tools are in requirements-dev.lock), non-root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TASKQL_ENVIRONMENT=production \
    TASKQL_HOST=0.0.0.0 \
    TASKQL_PORT=8000 \
    TASKQL_SERVER_WORKERS=1

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

# The packages run from /app (schema and jobs are also names on PyPI; they are never installed).
COPY alembic.ini pyproject.toml ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY loaders ./loaders
COPY jobs ./jobs
COPY persistence ./persistence
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

RUN useradd --system --uid 10001 --home-dir /app taskql && mkdir -p /app/var && chown taskql /app/var
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# Production needs TASKQL_DATABASE_URL, TASKQL_REDIS_URL and TASKQL_JWT_SECRET. `migrate` runs once per
# release (a job or init container) before the new version serves; `serve` runs TASKQL_SERVER_WORKERS
# processes; `worker` serves only its metrics (TASKQL_WORKER_METRICS_*): turn the HEALTHCHECK, the
# API's, off for it.
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve"]
