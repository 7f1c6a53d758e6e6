# syntax=docker/dockerfile:1

# PondPilot Proxy image. DuckDB ships glibc builds only (no musl), hence Debian, not Alpine.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, fetch the DuckDB extensions for the pinned DuckDB version ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build
# The server never downloads an extension while serving: they are baked in here, from one source:
# - by default DuckDB's extension repository (or a mirror of it: EXTENSION_REPOSITORY=URL);
# - EXTENSION_WHEELS=DIR: the official PyPI wheels (duckdb_extension_*.whl), already downloaded
#   into DIR, a directory of the build context (bound for this step only, not copied);
# - EXTENSION_PYPI_INDEX=URL: the same wheels fetched with pip from that index (pypi.org/simple
#   or a mirror); pip is installed in this stage only.
# Whatever the source, each extension is LOADed once with DuckDB's signature check on.
ARG EXTENSION_REPOSITORY=
ARG EXTENSION_WHEELS=
ARG EXTENSION_PYPI_INDEX=
RUN --mount=type=bind,target=/context \
  set -eu; \
  if [ -n "$EXTENSION_WHEELS" ]; then set -- --wheels "/context/$EXTENSION_WHEELS"; \
  elif [ -n "$EXTENSION_PYPI_INDEX" ]; then \
    apt-get update && apt-get install -y --no-install-recommends python3-pip >/dev/null; \
    set -- --pypi --pip-index-url "$EXTENSION_PYPI_INDEX"; \
  elif [ -n "$EXTENSION_REPOSITORY" ]; then set -- --repository "$EXTENSION_REPOSITORY"; \
  else set --; fi; \
  node scripts/install-extensions.mjs --dir /opt/pondpilot/extensions "$@"

# ---- deps: production dependencies only, in a clean stage ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# tini is PID 1: it forwards SIGTERM to the server and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 pondpilot \
  && useradd --system --uid 10001 --gid pondpilot --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin pondpilot
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /opt/pondpilot/extensions /opt/pondpilot/extensions
COPY package.json ./
COPY bin ./bin
# Listen on every interface inside the container. CONFIG_FILE is deliberately unset: the embedded
# defaults work without a file; mount one and set CONFIG_FILE to use it. NODE_ENV=production makes
# production the environment unless the config file names one, so API_KEY and ENCRYPTION_KEY are
# required; PONDPILOT_ENVIRONMENT=development asks for a development server with generated keys.
ENV NODE_ENV=production \
  HOST=0.0.0.0
# Numeric user so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8080
# No curl in the image: Node's fetch does the check. PORT, when set, overrides the config's port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The launcher (POSIX sh) sets UV_THREADPOOL_SIZE and the address-space limit, then execs node,
# so node is tini's direct child. Run through sh so that the file needs no executable bit.
CMD ["/bin/sh", "/app/bin/pondpilot-proxy"]
