# syntax=docker/dockerfile:1.7
#
# vivavoce as a small, non-root container.
#
#   docker build -t vivavoce .
#   docker run -p 8000:8000 -e OPENAI_API_KEY=… -e VIVAVOCE_SECRET_KEY=… \
#     -e VIVAVOCE_ADMIN_TOKEN=… -e VIVAVOCE_ALLOWED_ORIGINS=https://… vivavoce
#
# Two stages: "build" resolves and installs the locked dependencies with uv into a
# virtual environment; "runtime" gets only that environment (no uv, no compiler, no
# source tree). See docs/deploy.md.

ARG PYTHON_VERSION=3.12
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- build: install the locked dependencies, then the project itself ----------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, from the lock alone: this layer is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=/src/uv.lock \
    --mount=type=bind,source=pyproject.toml,target=/src/pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
# --no-editable: the project is installed as a package into the environment, so the
# runtime stage needs nothing from /src.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime -------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# tini is PID 1: it forwards signals (SIGTERM to stop, SIGHUP to re-read the key) and reaps
# orphaned processes (a résumé parser's child whose host was killed), which a Python
# server as PID 1 would leave as zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --system --gid 10001 vivavoce \
 && useradd --system --uid 10001 --gid vivavoce --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin vivavoce \
 && mkdir -p /app /data \
 && chown vivavoce:vivavoce /data
COPY --from=build /app/.venv /app/.venv
WORKDIR /app
# PORT is what Railway and most platforms set; vivavoce reads it itself, so the start
# command needs no shell to expand it. VIVAVOCE_IN_DOCKER makes the doctor's fixes speak
# of containers. The SQLite default lives in /data: mount a volume there, or set
# DATABASE_URL to PostgreSQL. VIVAVOCE_ENV=production: a container listens on every
# address, so it is safe by default and refuses to start until it has a key, secrets and
# origins; to try the image out, set VIVAVOCE_ENV=development and VIVAVOCE_ALLOW_INSECURE=1
# (docs/deploy.md, docs/security.md).
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIVAVOCE_IN_DOCKER=1 \
    VIVAVOCE_ENV=production \
    VIVAVOCE_HOST=0.0.0.0 \
    PORT=8000 \
    VIVAVOCE_DATA_DIR=/data
VOLUME ["/data"]
USER vivavoce:vivavoce
EXPOSE 8000
# /readyz: configuration valid and database reachable (it never calls OpenAI). The slim
# image has no curl; Python's standard library does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
ENTRYPOINT ["tini", "--"]
CMD ["vivavoce", "serve"]
