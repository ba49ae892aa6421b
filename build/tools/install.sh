#!/usr/bin/env bash
# Builds the pinned test-world tools (etcd 3.6 + 3.7, the Kubernetes control plane and kubectl, the
# porcupine linearizability checker of the chaos suite, promtool, SeaweedFS's S3 server) from their Go modules through the Go module proxy into a cache outside the repo. Idempotent: a tool whose
# binaries exist and report the pinned version is left alone. Test-world only: the product is TypeScript.
#
# Usage: build/tools/install.sh [all|etcd|etcd-3.6|etcd-3.7|kubernetes|porcupine|promtool|seaweedfs|dir NAME]   (default: all)
#   dir NAME prints the bin directory of NAME (etcd-3.6, etcd-3.7, kubernetes, porcupine, promtool, seaweedfs) without building.
# Env:   DEIS_ETCD_TOOLS_DIR  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/deis-etcd/tools)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
root=${DEIS_ETCD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/deis-etcd/tools}

say() { printf 'tools: %s\n' "$*" >&2; }
die() { printf 'tools: error: %s\n' "$*" >&2; exit 1; }

bindir() {
  case $1 in
    etcd-3.6) echo "$root/etcd-$ETCD_36_VERSION/bin" ;;
    etcd-3.7) echo "$root/etcd-$ETCD_37_VERSION/bin" ;;
    kubernetes) echo "$root/kubernetes-$KUBERNETES_VERSION/bin" ;;
    porcupine) echo "$root/porcupine-$PORCUPINE_VERSION/bin" ;;
    promtool) echo "$root/promtool-$PROMETHEUS_VERSION/bin" ;;
    seaweedfs) echo "$root/seaweedfs-$SEAWEEDFS_VERSION/bin" ;;
    *) die "unknown tool '$1' (known: etcd-3.6, etcd-3.7, kubernetes, porcupine, promtool, seaweedfs)" ;;
  esac
}

# verify BIN WANT [ARG...]: BIN runs and what `BIN ARG...` (default --version) prints contains WANT.
verify() {
  local bin=$1 want=$2 out; shift 2
  (($#)) || set -- --version
  [[ -x $bin ]] && out=$("$bin" "$@" 2>/dev/null) && [[ $out == *"$want"* ]]
}
# verify_kube BIN VERSION: kubectl reports its version with a subcommand, the servers with --version.
verify_kube() { if [[ ${1##*/} == kubectl ]]; then verify "$1" "$2" version --client; else verify "$1" "$2"; fi; }

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "go is not on PATH; install Go 1.25 or newer ('apt-get install golang' or https://go.dev/dl) and re-run 'make tools'"
}

# wrapper DIR MODULE@VERSION...: a throwaway module that requires the given modules.
wrapper() {
  local dir=$1; shift
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && go mod init deis-etcd.local/tools >/dev/null 2>&1 && go mod edit "${@/#/-require=}") ||
    die "cannot create the wrapper module in $dir"
}

# build DIR OUTDIR LDFLAGS NAME=PACKAGE...: go build each main package into OUTDIR/NAME.
build() {
  local dir=$1 out=$2 ldflags=$3 pair; shift 3
  mkdir -p "$out"
  for pair in "$@"; do
    say "  go build ${pair%%=*}"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out/${pair%%=*}" "${pair#*=}") ||
      die "building ${pair#*=} failed (output above); if modules could not be downloaded, check the Go module proxy (GOPROXY=$(go env GOPROXY))"
  done
}

fetch() { # DIR: resolve and download the wrapper's module graph, with a clear error when the proxy fails
  (cd "$1" && go mod tidy >/dev/null 2>"$1/fetch.log" || go mod download >/dev/null 2>>"$1/fetch.log") || true
}

install_etcd() { # VERSION
  local v=$1 bin; bin=$(bindir "etcd-${1:1:3}")
  if verify "$bin/etcd" "etcd Version: ${v#v}" && verify "$bin/etcdctl" "version: ${v#v}" version && verify "$bin/etcdutl" "version: ${v#v}" version; then
    say "etcd $v: cached in $bin"; return
  fi
  need_go
  local start=$SECONDS work; work="$(dirname "$bin")/src"
  say "etcd $v: building into $bin"
  wrapper "$work" "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v" "go.etcd.io/etcd/etcdutl/v3@$v"
  (cd "$work" && go mod download -x go.etcd.io/etcd/server/v3 >/dev/null 2>"$work/fetch.log") ||
    die "cannot download go.etcd.io/etcd/server/v3@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  (cd "$work" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$v" "go.etcd.io/etcd/etcdctl/v3@$v" "go.etcd.io/etcd/etcdutl/v3@$v" 2>>"$work/fetch.log") ||
    die "cannot resolve etcd $v's dependencies through the Go module proxy; see $work/fetch.log"
  GOFLAGS=-mod=mod build "$work" "$bin" "" etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3 etcdutl=go.etcd.io/etcd/etcdutl/v3
  verify "$bin/etcd" "etcd Version: ${v#v}" || die "$bin/etcd --version does not report $v"
  verify "$bin/etcdctl" "version: ${v#v}" version || die "$bin/etcdctl version does not report $v"
  verify "$bin/etcdutl" "version: ${v#v}" version || die "$bin/etcdutl version does not report $v"
  rm -rf "$work"
  say "etcd $v: built in $((SECONDS - start)) s"
}

install_kubernetes() {
  local v=$KUBERNETES_VERSION bin; bin=$(bindir kubernetes)
  local names=(kube-apiserver kube-controller-manager kube-scheduler kubectl) n all=1
  for n in "${names[@]}"; do verify_kube "$bin/$n" "$v" || all=0; done
  if ((all)); then say "kubernetes $v: cached in $bin"; return; fi
  need_go
  local start=$SECONDS work; work="$(dirname "$bin")/src"
  say "kubernetes $v: building into $bin (a cold build takes a while on 2 cores)"
  wrapper "$work" "k8s.io/kubernetes@$v"
  # k8s.io/kubernetes' go.mod replaces its staging modules (k8s.io/api, ...) with ./staging paths that
  # do not exist in the module zip; pin each to the published v0.X.Y of the same release instead.
  local gomod staging=${v/#v1./v0.}
  gomod=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" 2>"$work/fetch.log" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [[ -n $gomod && -f $gomod ]] ||
    die "cannot download k8s.io/kubernetes@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  local mods
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  [[ -n $mods ]] || die "found no staging replaces in $gomod; the wrapper recipe needs updating for $v"
  local m edits=()
  for m in $mods; do edits+=("-replace=$m=$m@$staging"); done
  (cd "$work" && go mod edit "${edits[@]}")
  (cd "$work" && GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/kube-apiserver@$v" 2>>"$work/fetch.log") ||
    die "cannot resolve Kubernetes $v's dependencies through the Go module proxy; see $work/fetch.log"
  local pkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version minor=${v#v1.}; minor=${minor%%.*}
  local ld="" p
  for p in $pkg $cpkg; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local pairs=()
  for n in "${names[@]}"; do pairs+=("$n=k8s.io/kubernetes/cmd/$n"); done
  GOFLAGS=-mod=mod build "$work" "$bin" "$ld" "${pairs[@]}"
  for n in "${names[@]}"; do verify_kube "$bin/$n" "$v" || die "$bin/$n does not report version $v"; done
  rm -rf "$work"
  say "kubernetes $v: built in $((SECONDS - start)) s"
}

# The chaos suite's checker: our small main (build/tools/porcupine/) around the pinned porcupine
# module. Its --version names the module version and a hash of the main's source, so an edited main
# is rebuilt even though the pinned version did not change.
install_porcupine() {
  local v=$PORCUPINE_VERSION bin src=$here/porcupine sum; bin=$(bindir porcupine)
  sum=$(cat "$src/go.mod" "$src"/*.go | sha256sum | cut -c1-12)
  local want="porcupine $v src=$sum"
  if verify "$bin/porcupine" "$want"; then say "porcupine $v: cached in $bin"; return; fi
  need_go
  local start=$SECONDS work; work="$(dirname "$bin")/src"
  say "porcupine $v: building into $bin"
  rm -rf "$work"; mkdir -p "$work"
  cp "$src/go.mod" "$src"/*.go "$work/"
  (cd "$work" && go mod edit "-require=github.com/anishathalye/porcupine@$v" &&
    GOFLAGS=-mod=mod go mod download github.com/anishathalye/porcupine >/dev/null 2>"$work/fetch.log" &&
    GOFLAGS=-mod=mod go mod tidy >/dev/null 2>>"$work/fetch.log") ||
    die "cannot download github.com/anishathalye/porcupine@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  GOFLAGS=-mod=mod build "$work" "$bin" "-X 'main.porcupineVersion=$v src=$sum'" porcupine=.
  verify "$bin/porcupine" "$want" || die "$bin/porcupine --version does not report '$want'"
  rm -rf "$work"
  say "porcupine $v: built in $((SECONDS - start)) s"
}

# The alert rules' checker (kustomize/components/monitoring): Prometheus' own promtool from its Go
# module (github.com/prometheus/prometheus v0.X.Y is the module tag of Prometheus release v3.X.Y).
install_promtool() {
  local v=$PROMETHEUS_VERSION bin; bin=$(bindir promtool)
  if verify "$bin/promtool" "version $v"; then say "promtool $v: cached in $bin"; return; fi
  need_go
  local start=$SECONDS work; work="$(dirname "$bin")/src"
  say "promtool $v: building into $bin (a cold build takes several minutes on 2 cores)"
  wrapper "$work" "github.com/prometheus/prometheus@$v"
  (cd "$work" && GOFLAGS=-mod=mod go get "github.com/prometheus/prometheus/cmd/promtool@$v" >/dev/null 2>"$work/fetch.log") ||
    die "cannot resolve github.com/prometheus/prometheus@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  GOFLAGS=-mod=mod build "$work" "$bin" "-X github.com/prometheus/common/version.Version=$v" promtool=github.com/prometheus/prometheus/cmd/promtool
  verify "$bin/promtool" "version $v" || die "$bin/promtool --version does not report $v"
  rm -rf "$work"
  say "promtool $v: built in $((SECONDS - start)) s"
}

# The test world's S3-compatible object store (the snapshot program's uploads, the backup e2e): SeaweedFS's
# `weed` from its Go module. `weed version` names the release inside the source, not the module's pseudo
# version, so a stamp file next to the binary records the module version it was built from. Its go.mod
# replaces one module; replace directives of a dependency do not apply to the wrapper, so it is copied.
install_seaweedfs() {
  local v=$SEAWEEDFS_VERSION bin; bin=$(bindir seaweedfs)
  if verify "$bin/weed" "version" version && [[ $(cat "$bin/weed.module" 2>/dev/null) == "$v" ]]; then
    say "seaweedfs $v: cached in $bin"; return
  fi
  need_go
  local start=$SECONDS work; work="$(dirname "$bin")/src"
  say "seaweedfs $v: building into $bin (a cold build takes several minutes on 2 cores)"
  wrapper "$work" "github.com/seaweedfs/seaweedfs@$v"
  local gomod
  gomod=$(cd "$work" && go mod download -json "github.com/seaweedfs/seaweedfs@$v" 2>"$work/fetch.log" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [[ -n $gomod && -f $gomod ]] ||
    die "cannot download github.com/seaweedfs/seaweedfs@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  local edits=() r
  while read -r r; do [[ -n $r ]] && edits+=("-replace=$r"); done < <(sed -n 's#^replace \([^ ]*\) => \([^ ]*\) \(v[^ ]*\)$#\1=\2@\3#p' "$gomod")
  ((${#edits[@]} == 0)) || (cd "$work" && go mod edit "${edits[@]}")
  (cd "$work" && GOFLAGS=-mod=mod go get "github.com/seaweedfs/seaweedfs/weed@$v" >/dev/null 2>>"$work/fetch.log") ||
    die "cannot resolve github.com/seaweedfs/seaweedfs@$v through the Go module proxy (GOPROXY=$(go env GOPROXY)); see $work/fetch.log"
  GOFLAGS=-mod=mod build "$work" "$bin" "" weed=github.com/seaweedfs/seaweedfs/weed
  verify "$bin/weed" "version" version || die "$bin/weed version does not run"
  echo "$v" >"$bin/weed.module"
  rm -rf "$work"
  say "seaweedfs $v: built in $((SECONDS - start)) s"
}

case ${1:-all} in
  all) install_etcd "$ETCD_36_VERSION"; install_etcd "$ETCD_37_VERSION"; install_kubernetes; install_porcupine; install_promtool; install_seaweedfs ;;
  etcd) install_etcd "$ETCD_36_VERSION"; install_etcd "$ETCD_37_VERSION" ;;
  etcd-3.6) install_etcd "$ETCD_36_VERSION" ;;
  etcd-3.7) install_etcd "$ETCD_37_VERSION" ;;
  kubernetes) install_kubernetes ;;
  porcupine) install_porcupine ;;
  promtool) install_promtool ;;
  seaweedfs) install_seaweedfs ;;
  dir) bindir "${2:?dir needs a tool name}" ;;
  *) die "unknown target '$1' (all, etcd, etcd-3.6, etcd-3.7, kubernetes, porcupine, promtool, seaweedfs, dir NAME)" ;;
esac
