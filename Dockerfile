# Multi-stage build: a cgo-ready Go build stage (pg_query_go needs cgo) and
# a small non-root runtime. CI runs the build stage's steps as `make build`
# (there is no Docker engine on the build machines).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# runtime.godebugDefault as in the Makefile: keeps Go's sysmon out of its
# deep sleep, whose wake-up on each idle-to-busy turn costs a one-P proxy
# about a third of its CPU (bench/RESULTS.md, 2026-11-26); its only other
# effect is a scheduler line every 24.8 days. A build default, so a GODEBUG
# set at run time still applies, key by key.
RUN CGO_ENABLED=1 go build -trimpath -ldflags '-X runtime.godebugDefault=schedtrace=2147483647' -o /out/shardgate ./cmd/shardgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/shardgate --create-home shardgate
COPY --from=build /out/shardgate /usr/local/bin/shardgate
USER 10001:10001
WORKDIR /var/lib/shardgate
EXPOSE 6432 3307 9090
ENTRYPOINT ["/usr/local/bin/shardgate"]
CMD ["serve", "-c", "/etc/shardgate/shardgate.yaml"]
