# routeguard: the daemon (`routeguard run`, the default command) and the
# simulator (`routeguard sim ...`) in one image. docker-compose.yml builds it.
#   docker build -t routeguard:0.1.0 .
#   docker run --rm -e ROUTEGUARD_REDIS_URL=redis://HOST:6379/0 -p 127.0.0.1:9477:9477 \
#     -v "$PWD/catalog.yaml:/etc/routeguard/catalog.yaml:ro" routeguard:0.1.0
FROM python:3.11.13-slim-bookworm

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Every dependency has a wheel for CPython 3.11 on Linux: no compiler needed.
# The embedded Redis (the `embedded` extra) is left out: the image is given a
# real Redis through ROUTEGUARD_REDIS_URL.
COPY pyproject.toml README.md /tmp/routeguard/
COPY src /tmp/routeguard/src
RUN pip install /tmp/routeguard \
 && rm -rf /tmp/routeguard \
 && useradd --system --uid 10001 --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin routeguard

# The HTTP interface listens on every interface of the container: publish it on
# the host's loopback only (docker-compose.yml does). Mount the catalog here.
ENV ROUTEGUARD_HTTP_ADDR=0.0.0.0:9477 \
    ROUTEGUARD_CONFIG=/etc/routeguard/catalog.yaml
USER 10001:10001
EXPOSE 9477
ENTRYPOINT ["routeguard"]
CMD ["run"]
