# syntax=docker/dockerfile:1
# kafka-redis-connector: static Go binary on a distroless, non-root base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t kafka-redis-connector .
#   docker run --rm -p 8080:8080 -e KRC_KAFKA_BROKERS=kafka:9092 -e KRC_REDIS_ADDRS=redis:6379 kafka-redis-connector
#   docker run --rm -p 8080:8080 -v "$PWD/config.yaml:/etc/kafka-redis-connector/config.yaml:ro" \
#     kafka-redis-connector run --config /etc/kafka-redis-connector/config.yaml
#
# Configuration: KRC_* environment variables (see README), or a YAML file mounted and passed with
# `run --config FILE` (environment variables still override the file).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/kafka-redis-connector ./cmd/kafka-redis-connector

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="kafka-redis-connector" \
      org.opencontainers.image.description="Reads Kafka topics as a consumer group and appends the records to Redis Streams" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/kafka-redis-connector /kafka-redis-connector
# distroless "nonroot": uid/gid 65532, no shell, CA certificates included.
USER nonroot:nonroot
# HTTP: /metrics, /healthz, /readyz, /stats (http.listen, default :8080)
EXPOSE 8080
ENTRYPOINT ["/kafka-redis-connector"]
CMD ["run"]
