# syntax=docker/dockerfile:1
# deis-etcd image: one Node single executable carrying every program (/bin/boot starts a member,
# /bin/discovery the discovery service, /bin/snapshot takes one snapshot, /bin/kubectl-deis_etcd the
# status command; all links to /bin/deis-etcd), etcd and etcdutl from the official etcd image, on
# distroless cc (glibc + libstdc++, which Node needs; no shell), as non-root.
#   docker build --build-arg DEIS_ETCD_VERSION=$(git describe --tags --always --dirty) -t deis/etcd .
# Every base image and version is a build argument; the defaults are pinned.
ARG NODE_IMAGE=node:24.21.0-bookworm
ARG ETCD_IMAGE=gcr.io/etcd-development/etcd
ARG ETCD_VERSION=v3.6.16
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${ETCD_IMAGE}:${ETCD_VERSION} AS etcd

# build: npm ci brings the pinned Node 24 (node@24 package) that both bundles and becomes the
# executable; the image's own node only runs npm. The full bookworm image has `strip` (binutils).
FROM ${NODE_IMAGE} AS build
ARG DEIS_ETCD_VERSION=
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY build/bundle.ts build/sea.ts build/source-map.ts build/
COPY cmd/ cmd/
COPY internal/ internal/
RUN DEIS_ETCD_VERSION="${DEIS_ETCD_VERSION}" node_modules/.bin/node build/sea.ts
# the final tree, staged here because distroless has no shell to make links or directories
# etcd and etcdutl (the snapshot program's check and boot's restore); etcdctl stays out (17 MB: the
# image keeps under 180 MiB; operators run etcdctl from their machine with the client Secret)
COPY --from=etcd /usr/local/bin/etcd /usr/local/bin/etcdutl /out/usr/local/bin/
RUN mkdir -p /out/bin /out/var/lib/etcd \
 && cp -P dist/bin/deis-etcd dist/bin/boot dist/bin/discovery dist/bin/snapshot dist/bin/kubectl-deis_etcd /out/bin/ \
 && chown 65532:65532 /out/var/lib/etcd

FROM ${BASE_IMAGE}
ARG ETCD_VERSION
LABEL org.opencontainers.image.title="deis-etcd" \
      org.opencontainers.image.description="etcd on Kubernetes: in-cluster discovery and self-healing members" \
      io.etcd.version="${ETCD_VERSION}"
COPY --from=build /out/ /
# client, peer, discovery client
EXPOSE 2379 2380 2381
# nonroot of distroless, numeric so that Kubernetes' runAsNonRoot can check it
USER 65532:65532
ENTRYPOINT ["/bin/boot"]
