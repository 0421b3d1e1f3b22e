# syntax=docker/dockerfile:1
# matrix-sip-edge: runs beside FreeSWITCH (see compose.yaml and README.md,
# "Deploying and operating"). Config and secrets are mounted at run time;
# nothing secret is built into a layer.
#
# Base image: Node 24 LTS on Debian bookworm, slim. For reproducible builds
# pin a digest: FROM node:24-bookworm-slim@sha256:<digest>.

# 1. Production dependencies only. --ignore-scripts: no dependency of the
#    edge needs an install script, and the `node` dev dependency (a Node 24
#    bootstrap for machines with an older Node) is not installed at all.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 2. Compile TypeScript with the dev toolchain. tsc is run with the image's
#    node (not node_modules/.bin, where the `node` bootstrap shim lives).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 3. Runtime: production node_modules + compiled JavaScript, owned by root and
#    read-only for the unprivileged `node` user (uid 1000) the edge runs as.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MSE_CONFIG=/etc/matrix-sip-edge/config.yaml \
    MSE_STATE_DIR=/var/lib/matrix-sip-edge
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json config.example.yaml ./
# The config file is mounted at $MSE_CONFIG (read-only); secrets are files
# mounted by the orchestrator (e.g. /run/secrets/esl_password) and named by
# MSE_ESL_PASSWORD_FILE, MSE_VERTO_PASSWORD_FILE, MSE_MATRIX_ACCESS_TOKEN_FILE
# or MSE_MATRIX_PASSWORD_FILE.
# The state store (live calls, Verto session id, unsent Matrix events) is
# the only place the edge writes: a volume, owned by the user it runs as.
RUN mkdir -p /var/lib/matrix-sip-edge && chown node:node /var/lib/matrix-sip-edge && chmod 0700 /var/lib/matrix-sip-edge
VOLUME /var/lib/matrix-sip-edge
USER node
# /healthz on the edge's HTTP listener (config http.port, default 9464);
# set MSE_HEALTH_URL when the port differs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/src/http/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
