# syntax=docker/dockerfile:1
# The sidecar as a container: built in one stage (every dependency, the widget and the compiled
# CLI), run from another (production dependencies and dist/ only, as the non-root `node` user).
# Every option comes from the environment (README's configuration table); secrets from files too
# (FILES_API_SECRET_FILE, METRICS_TOKEN_FILE). Data (records, file copies, kernel memory) in /data.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Behind a TLS-inspecting proxy, the host's CA bundle (mounted into the build) for npm; not kept in the image.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build:proxy && npm run build:widget

FROM ${NODE_IMAGE}
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production \
    SIDECAR_HOST=0.0.0.0 \
    SIDECAR_PORT=8890 \
    DATA_DIR=/data/store \
    WORKSPACE_ROOT=/workspaces \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /tmp/* \
 && mkdir -p /data/store /workspaces && chown node:node /data /data/store /workspaces
COPY --from=build /src/dist/proxy ./dist/proxy
COPY --from=build /src/dist/contract ./dist/contract
COPY --from=build /src/dist/widget ./dist/widget
COPY demo ./demo
USER node
VOLUME ["/data"]
EXPOSE 8890
# Liveness only: a gateway or database that is away is readiness, and must not get this restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.SIDECAR_PORT}/sidecar/v1/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The node process is PID 1 and handles SIGTERM itself (main.ts); the flag is the bin's shebang's.
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/proxy/main.js"]
