# syntax=docker/dockerfile:1
# The `timeline` command in a slim image: wheels are built in a throw-away stage that has the compilers,
# the final stage installs them and keeps no build tools, runs as an unprivileged user.
#
#   docker build -t liveblog-timeline .
#   docker run --rm -p 8000:8000 liveblog-timeline serve --host 0.0.0.0     # one process, SQLite
#   docker compose up                                                        # the scale-out topology

FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY feeds ./feeds
COPY timeline ./timeline
# Wheels for the project and every dependency (most are binary wheels from PyPI; the rest compile here).
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin timeline
# Mounted, not copied: the wheels never become a layer of the final image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels liveblog-timeline
USER timeline
WORKDIR /home/timeline
EXPOSE 8000
ENTRYPOINT ["timeline"]
CMD ["serve", "--host", "0.0.0.0"]
