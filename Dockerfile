# syntax=docker/dockerfile:1
#
# branch-proxy image: `docker build -t branch-proxy .`
#
#   docker run -p 80:8080 -e ETCD_ENDPOINTS=http://etcd:2379 branch-proxy             # the proxy (serve)
#   docker run branch-proxy register --branch main --service web --port 3000 -- ...  # any other command
#
# The runtime stage holds exactly what `npm pack` ships (package.json "files":
# the compiled dist/, the dashboard's public/, ...) plus production dependencies
# installed from the lockfile, and the dependency-free demo service that
# k8s-free-compose.yml runs.

ARG NODE_IMAGE=node:24-alpine

# ---- build: compile TypeScript and pack the package as npm would publish it ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs the sources, which are not copied yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# `npm pack` runs `prepare` (tsc -> dist/) and keeps only the files package.json ships,
# so public/ and scripts/ come along exactly when the package has them.
RUN npm pack --pack-destination /tmp \
 && mkdir /pkg \
 && tar -xzf /tmp/branch-proxy-*.tgz -C /pkg --strip-components=1

# ---- runtime: production dependencies + the packed package, non-root ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one, and `prepare` would try to build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /pkg/ ./
COPY demo ./demo
RUN chmod 0755 dist/cli/main.js \
 && ln -s /app/dist/cli/main.js /usr/local/bin/branch-proxy \
 && branch-proxy --version

# The node images ship an unprivileged `node` user (uid 1000).
USER node

# PORT (proxy) and ADMIN_PORT (/healthz, /readyz, /api, /metrics).
EXPOSE 8080 8081

# No curl in the image: node's fetch probes the admin port. Containers that run
# another command (register, ...) have no admin port: override or disable this
# check for them (k8s-free-compose.yml does).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_PORT || 8081) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["branch-proxy"]
CMD ["serve"]
