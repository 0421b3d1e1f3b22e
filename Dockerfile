# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the full dev toolchain.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` dev dependency is only the bootstrap for machines with an older Node; the image has Node 24.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# Runtime stage: production dependencies only, non-root.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY config.example.yaml ./
USER node
# Config and secrets are mounted at run time, never baked in:
#   -v ./config.yaml:/etc/matrix-sip-edge/config.yaml:ro, secrets via MSE_*_FILE.
ENV MSE_CONFIG=/etc/matrix-sip-edge/config.yaml
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
