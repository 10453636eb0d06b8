# syntax=docker/dockerfile:1
# yijian: build on Debian 12, run on Debian 12 slim as a non-root user.
#   docker build -t yijian .
#   docker run -e DATABASE_URL=... -e DATABASE_OWNER_URL=... -p 8080:8080 yijian
# (docker-compose.yml brings a PostgreSQL 15 along; docs/deployment.md.)
# With podman, build with `--format docker`: the OCI image format has no
# HEALTHCHECK. `make container-test` builds and runs this file for real.

# ---- build stage ---------------------------------------------------------
FROM debian:bookworm AS build
# libc6-dev explicitly: it is only a Recommends of gcc.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc libc6-dev make pkg-config \
        libmicrohttpd-dev libjansson-dev libsodium-dev libpq-dev libcurl4-openssl-dev \
        libxlsxwriter-dev zlib1g-dev libqrencode-dev \
        nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The web client's libraries and bundler, from its lock file (Debian's
# Node.js 18 bundles it; only the tests need a newer one).
# Behind an egress proxy that re-signs TLS, npm needs the proxy's CA: give
# the file to the build and name it, e.g.
#   podman build -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro \
#                --build-arg NPM_CA=/run/host-ca.crt .
# (scripts/container-test.sh does). Without it, the image's own CAs.
COPY web/package.json web/package-lock.json web/
ARG NPM_CA=
RUN cd web && if [ -n "$NPM_CA" ]; then export NODE_EXTRA_CA_CERTS="$NPM_CA"; fi \
 && npm ci --no-audit --no-fund
# Only what the release binary is made of; the migrations (sql/), the
# OpenAPI document and the web client (bundled from web/ by make) are
# embedded into it, so the runtime needs no files.
COPY Makefile ./
COPY web/build.mjs web/
COPY web/src/ web/src/
COPY scripts/embed.sh scripts/
COPY service/ service/
COPY sql/ sql/
COPY api-spec/ api-spec/
# Debug info stripped (the image stays small), symbol names kept for
# backtraces.
RUN make build/yijian && strip --strip-debug build/yijian

# ---- runtime stage -------------------------------------------------------
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="yijian" \
      org.opencontainers.image.description="Opinion collection and feedback tracking (HTTP API)"
# Runtime libraries only (libcurl4 for `yijian member`, the client in the same
# binary); curl for the HEALTHCHECK (the binary has no health subcommand);
# ca-certificates for TLS connections to a managed PostgreSQL.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libjansson4 libsodium23 libpq5 libcurl4 libxlsxwriter4 libqrencode4 \
        curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 yijian \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin yijian
COPY --from=build /src/build/yijian /usr/local/bin/yijian
USER 10001:10001
ENV LISTEN=0.0.0.0:8080
EXPOSE 8080
# The port is taken from LISTEN, so that overriding LISTEN keeps the check right.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${LISTEN##*:}/healthz" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/yijian"]
CMD ["serve"]
