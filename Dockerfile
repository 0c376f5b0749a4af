# promrecover in a container, to run next to a Prometheus container on its
# data volume. Build (BuildKit, the default builder since Docker 23):
#
#   docker build -t promrecover \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# Without the build args the binary says "dev (commit unknown, built unknown)":
# .git stays out of the build context (see .dockerignore), so the toolchain
# has no revision to record.

# go.mod asks for Go 1.26.8, and the golang images set GOTOOLCHAIN=local, so
# they do not fetch a newer toolchain: the tag names that version exactly.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
# CGO_ENABLED=0: a static binary, so the final image needs no libc. The cache
# mounts keep modules and build results across builds; go build fetches only
# the modules the binary needs (not the test-only ones go mod download would).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/promrecover ./cmd/promrecover
# A working directory the runtime user may write, for what is written where
# it runs (demo's ./demo-data, an export's --out up.json): distroless has
# no shell to make one, so it is made here and copied with its owner.
RUN mkdir /out/work

# distroless/static holds CA certificates (for https://...grafana.net), time
# zone data and a passwd with root, nonroot and nobody; no shell, no package
# manager, nothing else to patch.
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/promrecover /usr/local/bin/promrecover
COPY --from=build --chown=65534:65534 /out/work /work
WORKDIR /work
# The uid and gid the Prometheus image runs as (nobody:nogroup in its busybox
# base), which own its /prometheus volume: blocks written as this user stay
# Prometheus's to compact and delete. For a volume owned by someone else, run
# with --user of that owner, or --user 0 (promrecover then gives the blocks
# the owner of --out).
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/promrecover"]
CMD ["--help"]
