#!/usr/bin/env bash
# `make docker-build`: builds the Dockerfile (the one definition of the image) with docker or podman.
# Each base image the Dockerfile names by default is used when it is present or can be pulled; one
# that cannot (no registry reachable) is replaced by a local stand-in from build/image/standins.sh,
# passed as the same build argument, and the output names it. Podman gets this project's settings
# (build/image/containers.conf: runc, cgroupfs, host ulimits; storage.conf: vfs) unless
# CONTAINERS_CONF / CONTAINERS_STORAGE_CONF are set already. Layers are cached by the engine, the
# stand-ins by their recipe label: a second build with unchanged sources takes seconds.
#
# Usage: build/image/build.sh IMAGE [VERSION]
# Env: DOCKER (docker|podman, default docker), DEIS_ETCD_STANDINS (auto: only where a default base
#   cannot be pulled; always; never)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${1:?usage: build/image/build.sh IMAGE [VERSION]}
version=${2:-}
DOCKER=${DOCKER:-docker}
mode=${DEIS_ETCD_STANDINS:-auto}
say() { printf 'docker-build: %s\n' "$*" >&2; }
die() { printf 'docker-build: error: %s\n' "$*" >&2; exit 2; }

command -v "$DOCKER" >/dev/null 2>&1 ||
  die "$DOCKER is not installed: install docker, or podman (apt-get install -y podman buildah runc) and pass DOCKER=podman"
if [[ ${DOCKER##*/} == podman ]]; then
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
  export CONTAINERS_STORAGE_CONF=${CONTAINERS_STORAGE_CONF:-$here/storage.conf}
fi
case $mode in auto | always | never) ;; *) die "DEIS_ETCD_STANDINS=$mode: use auto, always or never" ;; esac

# default ARG: the Dockerfile's own default for a build argument
default() { sed -n "s/^ARG $1=//p" "$repo/Dockerfile" | head -1; }
# qualify NAME: a short name as docker resolves it (docker.io/library/...)
qualify() {
  local first=${1%%/*}
  if [[ $1 != */* ]]; then echo "docker.io/library/$1"
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then echo "$1"
  else echo "docker.io/$1"; fi
}
# available IMAGE: present locally, or pulled now (a registry that cannot be reached fails in ~1 s)
available() {
  "$DOCKER" image inspect "$1" >/dev/null 2>&1 && return
  [[ $mode == never ]] || say "pulling $1"
  timeout 300 "$DOCKER" pull -q "$1" >/dev/null 2>"${TMPDIR:-/tmp}/deis-etcd-pull.log"
}

declare -A want=(
  [cc]=$(default BASE_IMAGE)
  [etcd]="$(default ETCD_IMAGE):$(default ETCD_VERSION)"
  [node]=$(default NODE_IMAGE)
)
args=()
for base in cc etcd node; do
  ref=$(qualify "${want[$base]}")
  if [[ $mode != always ]] && available "$ref"; then continue; fi
  if [[ $mode == never ]]; then
    die "base image $ref cannot be pulled ($(tail -1 "${TMPDIR:-/tmp}/deis-etcd-pull.log" 2>/dev/null)); DEIS_ETCD_STANDINS=auto builds a local stand-in"
  fi
  mapfile -t kvs < <(DOCKER=$DOCKER "$here/standins.sh" "$base" --print-args)
  ((${#kvs[@]})) || die "build/image/standins.sh $base gave no build arguments"
  for kv in "${kvs[@]}"; do args+=(--build-arg "$kv"); done
  say "base $ref cannot be pulled: using the local stand-in ${kvs[*]} (build/image/standins.sh $base)"
done

flags=()
[[ ${DOCKER##*/} == podman ]] && flags+=(--network host --layers)
start=$SECONDS
"$DOCKER" build "${flags[@]}" --build-arg "DEIS_ETCD_VERSION=$version" "${args[@]}" -t "$image" "$repo"
size=$("$DOCKER" image inspect --format '{{.Size}}' "$image")
say "built $image in $((SECONDS - start)) s: $((size / 1048576)) MiB"
# each build of a changed tree leaves its build stage behind as an untagged image (over 1 GB each with
# the vfs driver build/image/storage.conf uses): drop those older than an hour; the newer ones stay,
# the build cache of this tree's next build (the image and e2e tests build the same tree in one run)
"$DOCKER" image prune --force --filter until=1h >/dev/null || say "could not prune untagged images (disk use grows)"
