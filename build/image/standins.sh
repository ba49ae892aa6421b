#!/usr/bin/env bash
# Local stand-ins for the Dockerfile's base images, for machines that reach no container registry
# (the Debian mirror and the npm registry are enough). Each one is assembled from Debian packages
# (apt-get download + dpkg-deb -x, no maintainer scripts run) and imported as a local image:
#
#   cc     stands in for gcr.io/distroless/cc-debian12:nonroot: libc6, libgcc-s1, libstdc++6,
#          gcc-12-base, netbase, the ca-certificates bundle (Debian's ca-certificates, concatenated
#          as update-ca-certificates would), passwd/group with root, nobody and nonroot (65532),
#          /home/nonroot and /tmp; NO shell and no package manager. USER 65532, as :nonroot.
#   etcd   stands in for gcr.io/etcd-development/etcd:<ETCD_36_VERSION>: etcd, etcdctl and etcdutl
#          at /usr/local/bin, built from the pinned Go module (build/tools/install.sh etcd-3.6).
#   node   stands in for node:<version>-bookworm, the build stage: dash, coreutils and binutils
#          (strip) with their dependency closure, the project's pinned Node 24 (node_modules/.bin/node)
#          as /usr/local/bin/node and this machine's npm as /usr/local/bin/npm. It trusts what this
#          machine trusts (its /etc/ssl/certs/ca-certificates.crt, NODE_EXTRA_CA_CERTS), so that `npm ci`
#          works behind a TLS-inspecting proxy; the shipped cc base carries Debian's bundle only.
#
# Usage: build/image/standins.sh [cc|etcd|node|all] [--print-args]
#   Builds the missing stand-ins (an image whose recipe label matches is kept: a second run is
#   instant) and, with --print-args, prints the build arguments that select them (KEY=VALUE lines).
# Env: DOCKER (podman or docker, default podman), DEIS_ETCD_STANDIN_CACHE (downloaded packages,
#   default ${XDG_CACHE_HOME:-$HOME/.cache}/deis-etcd/standins).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../tools/versions.env
source "$repo/build/tools/versions.env"
DOCKER=${DOCKER:-podman}
cache=${DEIS_ETCD_STANDIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deis-etcd/standins}
prefix=localhost/deis-etcd-standin
node_version=$("$repo/node_modules/.bin/node" --version 2>/dev/null | tr -d v) ||
  { echo "standins: error: node_modules/.bin/node is missing; run 'make deps' first" >&2; exit 2; }

say() { printf 'standins: %s\n' "$*" >&2; }
die() { printf 'standins: error: %s\n' "$*" >&2; exit 1; }

# The recipe hash: this script and the inputs that change what an image holds.
recipe() { { cat "${BASH_SOURCE[0]}"; echo "$1"; } | sha256sum | cut -c1-16; }

# closure PKG...: the packages PKG... need (Depends and Pre-Depends, recursively), real names only.
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$@" | grep -E '^[a-z0-9]' | sort -u
}

# unpack DIR PKG...: download PKG... (cached) and extract them into DIR.
unpack() {
  local dir=$1 debs=$cache/debs; shift
  mkdir -p "$debs"
  (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null 2>"$debs/download.log") ||
    (apt-get update -q >/dev/null 2>&1 && cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null 2>"$debs/download.log") ||
    die "apt-get download $* failed (see $debs/download.log); the stand-ins need a reachable Debian mirror"
  local p
  for p in "$@"; do
    local deb; deb=$(ls -t "$debs/${p}_"*.deb 2>/dev/null | head -1)
    [[ -n $deb ]] || die "no .deb for $p in $debs"
    dpkg-deb -x "$deb" "$dir"
  done
}

# import DIR IMAGE RECIPE [--change ...]: the tree DIR (owned by root, /home/nonroot by 65532) as IMAGE.
import() {
  local dir=$1 image=$2 hash=$3; shift 3
  local tar; tar=$(mktemp --suffix=.tar)
  tar -C "$dir" --numeric-owner --owner=0 --group=0 --exclude=./home/nonroot -cf "$tar" .
  if [[ -d $dir/home/nonroot ]]; then
    tar -C "$dir" --numeric-owner --owner=65532 --group=65532 -rf "$tar" ./home/nonroot
  fi
  local out
  out=$("$DOCKER" import --change "LABEL org.deis-etcd.standin-recipe=$hash" "$@" "$tar" "$image" 2>&1) ||
    { rm -f "$tar"; die "$DOCKER import of $image failed: $out"; }
  rm -f "$tar"
}

# fresh IMAGE RECIPE: true when IMAGE exists with that recipe label.
fresh() {
  local got
  got=$("$DOCKER" image inspect --format '{{index .Config.Labels "org.deis-etcd.standin-recipe"}}' "$1" 2>/dev/null) &&
    [[ $got == "$2" ]]
}

base_files() { # DIR: passwd, group, ca bundle, tmp, home
  local dir=$1
  mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot" "$dir/root" "$dir/var/lib"
  chmod 1777 "$dir/tmp"
  cat >"$dir/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$dir/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  [[ -d $dir/usr/share/ca-certificates/mozilla ]] || die "ca-certificates did not unpack"
  cat "$dir"/usr/share/ca-certificates/mozilla/*.crt >"$dir/etc/ssl/certs/ca-certificates.crt"
}

cc_image="$prefix/cc-debian12:nonroot"
build_cc() {
  local pkgs=(libc6 libgcc-s1 gcc-12-base libstdc++6 netbase ca-certificates) hash
  hash=$(recipe "${pkgs[*]}")
  if fresh "$cc_image" "$hash"; then say "cc: $cc_image is up to date"; return; fi
  say "cc: assembling $cc_image from Debian packages: ${pkgs[*]}"
  local dir; dir=$(mktemp -d)
  unpack "$dir" "${pkgs[@]}"
  base_files "$dir"
  # ca-certificates brings the update script and its docs, which need a shell: keep only the bundle
  rm -rf "$dir/usr/sbin" "$dir/usr/share/ca-certificates" "$dir/usr/share/doc" "$dir/usr/share/man" \
    "$dir/usr/share/lintian" "$dir/etc/ca-certificates.conf"
  for sh in bin/sh bin/bash bin/dash usr/bin/sh; do [[ ! -e $dir/$sh ]] || die "the cc stand-in must not hold a shell ($sh)"; done
  import "$dir" "$cc_image" "$hash" --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
  rm -rf "$dir"
}

etcd_image="$prefix/etcd:$ETCD_36_VERSION"
build_etcd() {
  local bin; bin=$("$repo/build/tools/install.sh" dir etcd-3.6)
  [[ -x $bin/etcd ]] || "$repo/build/tools/install.sh" etcd-3.6
  local hash; hash=$(recipe "$ETCD_36_VERSION $(sha256sum "$bin/etcd" "$bin/etcdctl" "$bin/etcdutl" | cut -c1-64)")
  if fresh "$etcd_image" "$hash"; then say "etcd: $etcd_image is up to date"; return; fi
  say "etcd: assembling $etcd_image from the pinned etcd build in $bin"
  local dir; dir=$(mktemp -d)
  mkdir -p "$dir/usr/local/bin"
  cp "$bin/etcd" "$bin/etcdctl" "$bin/etcdutl" "$dir/usr/local/bin/"
  import "$dir" "$etcd_image" "$hash" --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin'
  rm -rf "$dir"
}

node_image="$prefix/node:$node_version-bookworm"
build_node() {
  local npm_dir; npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [[ -f $npm_dir/package.json ]] || die "npm is not installed (the build stage stand-in copies this machine's npm)"
  local pkgs; mapfile -t pkgs < <(closure dash coreutils binutils libstdc++6 ca-certificates)
  local host_ca=/etc/ssl/certs/ca-certificates.crt
  local hash; hash=$(recipe "${pkgs[*]} node $node_version npm $(node -p "require('$npm_dir/package.json').version" 2>/dev/null || echo '?') ca $(sha256sum "$host_ca" 2>/dev/null | cut -c1-16)")
  if fresh "$node_image" "$hash"; then say "node: $node_image is up to date"; return; fi
  say "node: assembling $node_image from ${#pkgs[@]} Debian packages (dash, coreutils, binutils and their dependencies), Node $node_version and this machine's npm"
  local dir; dir=$(mktemp -d)
  unpack "$dir" "${pkgs[@]}"
  base_files "$dir"
  [[ -e $dir/bin/sh ]] || ln -s dash "$dir/bin/sh"
  [[ ! -f $host_ca ]] || cp "$host_ca" "$dir/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$dir/usr/local/bin" "$dir/usr/local/lib/node_modules"
  cp "$(readlink -f "$repo/node_modules/.bin/node")" "$dir/usr/local/bin/node"
  cp -R "$npm_dir" "$dir/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  import "$dir" "$node_image" "$hash" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
  rm -rf "$dir"
}

what=all print=0
for a in "$@"; do
  case $a in
    cc | etcd | node | all) what=$a ;;
    --print-args) print=1 ;;
    *) die "unknown argument '$a' (usage: standins.sh [cc|etcd|node|all] [--print-args])" ;;
  esac
done
case $what in
  cc) build_cc ;;
  etcd) build_etcd ;;
  node) build_node ;;
  all) build_cc; build_etcd; build_node ;;
esac
if ((print)); then
  [[ $what != cc && $what != all ]] || echo "BASE_IMAGE=$cc_image"
  [[ $what != etcd && $what != all ]] || printf 'ETCD_IMAGE=%s\nETCD_VERSION=%s\n' "${etcd_image%:*}" "$ETCD_36_VERSION"
  [[ $what != node && $what != all ]] || echo "NODE_IMAGE=$node_image"
fi
