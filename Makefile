# deis-etcd: build, test and run. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE ?= node_modules/.bin/node
TOOLS := build/tools/install.sh
NPM_STAMP := node_modules/.deis-etcd-installed

##@ Development
.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z0-9_-]+:.*##/ {printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(NPM_STAMP): package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## install the npm packages (Node 24 comes from the node@24 package)

.PHONY: tools
tools: ## build the pinned etcd 3.6/3.7, Kubernetes, porcupine, promtool and SeaweedFS binaries into the tool cache (once), install nftables
	$(TOOLS) all
	build/tools/system.sh nft:nftables

.PHONY: typecheck
typecheck: deps ## type-check everything with tsc
	node_modules/.bin/tsc --noEmit -p .

##@ Package and deploy
# The image: $(DEV_REGISTRY)/$(IMAGE_PREFIX)/etcd:$(VERSION), e.g. make all DEV_REGISTRY=registry.example:5000
DEV_REGISTRY ?=
IMAGE_PREFIX ?= deis
VERSION ?= git-$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
IMAGE = $(DEV_REGISTRY)/$(IMAGE_PREFIX)/etcd:$(VERSION)
# what --version prints, baked into the bundles (the Docker build context has no .git)
BUILD_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
DOCKER ?= docker
KUBECTL ?= kubectl
DEV_OVERLAY := kustomize/overlays/dev
DEPLOY_DIR := .local/deploy
need-registry = @test -n "$(DEV_REGISTRY)" || { echo "error: DEV_REGISTRY is not set: make $(or $(MAKECMDGOALS),$@) DEV_REGISTRY=host:port (the registry that Kubernetes pulls from)" >&2; exit 2; }

.PHONY: info build bin docker-build container-runtime docker-push kube-secrets kube-service kube-render deploy kube-delete all clean
info: ## print the image name that docker-build, docker-push and deploy use
	@echo "image: $(IMAGE)"
	@echo "version: $(BUILD_VERSION)"
	@test -n "$(DEV_REGISTRY)" || echo "note: DEV_REGISTRY is not set; docker-push and deploy need it"

build: deps ## bundle boot, discovery and the multi-call deis-etcd into dist/*.cjs (esbuild)
	DEIS_ETCD_VERSION=$(BUILD_VERSION) $(NODE) build/bundle.ts

bin: deps ## the single executable dist/bin/deis-etcd (Node SEA) with boot and discovery links
	DEIS_ETCD_VERSION=$(BUILD_VERSION) $(NODE) build/sea.ts

docker-build: ## build the image (Dockerfile); bases no registry serves get local stand-ins (build/image/)
	$(need-registry)
	@$(install-runtime)
	@test -x $(NODE) || $(MAKE) deps
	DOCKER=$(DOCKER) build/image/build.sh $(IMAGE) $(BUILD_VERSION)

# podman, buildah and runc from apt when neither $(DOCKER) nor podman is on PATH (as root)
install-runtime = command -v $(DOCKER) >/dev/null 2>&1 || command -v podman >/dev/null 2>&1 || { \
	  test "$$(id -u)" = 0 || { echo "error: no podman or docker: install podman (apt-get install -y podman buildah runc) or run as root" >&2; exit 3; }; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y --no-install-recommends podman buildah runc || \
	  { apt-get update && apt-get install -y --no-install-recommends podman buildah runc; }; }
container-runtime: ## install podman, buildah and runc with apt-get when no container engine is on PATH (needs root)
	@$(install-runtime)

docker-push: ## push the image to DEV_REGISTRY
	$(need-registry)
	$(DOCKER) push $(IMAGE)

kube-secrets: ## create the discovery token Secret with a random token, unless it exists (discovery would create it too)
	$(KUBECTL) get secret deis-etcd-discovery-token >/dev/null 2>&1 || \
	  $(KUBECTL) create secret generic deis-etcd-discovery-token --from-literal=token=$$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')

kube-service: ## create the Services first (pods see their env vars only when the Service predates them)
	$(KUBECTL) kustomize $(DEV_OVERLAY) | awk 'BEGIN { RS = "\n---\n"; ORS = "\n---\n" } /(^|\n)kind: Service\n/' | $(KUBECTL) apply -f -

kube-render: ## write a copy of the dev overlay with the image set (set-image) into .local/deploy
	$(need-registry)
	rm -rf $(DEPLOY_DIR) && mkdir -p $(DEPLOY_DIR) && cp -R kustomize $(DEPLOY_DIR)/
	$(NODE) build/kube/set-image.ts $(DEPLOY_DIR)/$(DEV_OVERLAY)/kustomization.yaml deis/etcd=$(IMAGE)

deploy: kube-render ## apply the dev overlay with the image (make info shows it)
	$(KUBECTL) apply -k $(DEPLOY_DIR)/$(DEV_OVERLAY)

kube-delete: ## delete what deploy applied (the token Secret stays: delete it by hand for a new token)
	$(KUBECTL) delete -k $(DEV_OVERLAY) --ignore-not-found

all: build docker-build docker-push deploy ## bundle, build and push the image, deploy the dev overlay

clean: ## remove dist/ and .local/deploy
	rm -rf dist $(DEPLOY_DIR)

##@ Tests
.PHONY: test
test: deps tools container-runtime typecheck lint ## install what is missing, then run every suite (the README's test command)
	$(NODE) build/docs.ts --check
	$(NODE) test/run.ts unit integration integration@3.7 e2e

.PHONY: lint format
lint: deps ## formatter and linter check (biome): fails on any unformatted file or lint finding
	node_modules/.bin/biome ci --error-on-warnings .
format: deps ## format and apply safe lint fixes (biome)
	node_modules/.bin/biome check --write .

.PHONY: test-unit test-integration test-e2e
test-unit: deps ## unit tests only (pure logic, no processes)
	$(NODE) test/run.ts unit
test-integration: deps tools ## integration tests (real etcd)
	$(NODE) test/run.ts integration
test-e2e: deps tools ## e2e tests (real etcd and the local Kubernetes control plane)
	$(NODE) test/run.ts e2e

##@ Run it
# make up IMAGE=<image built by docker-build>: the node agent runs the pods from that image (podman)
UP_IMAGE := $(if $(filter command line,$(origin IMAGE)),$(IMAGE),)
.PHONY: up down cluster-up cluster-down up-direct down-direct status-direct
OVERLAY ?= local
up: deps tools ## run it: a local Kubernetes (test world) with discovery and three members (OVERLAY=local-secure: with TLS; IMAGE=...: from that image, via podman); make down stops it
	$(if $(UP_IMAGE),$(install-runtime))
	DEIS_ETCD_OVERLAY=$(OVERLAY) IMAGE=$(UP_IMAGE) $(NODE) build/local/world.ts up
down: ## stop whatever make up / cluster-up / up-direct started
	$(NODE) build/local/world.ts down
	$(NODE) build/local/cluster.ts down
cluster-up: deps tools ## only the local control plane and node agent (kubeconfig at .local/kubeconfig)
	$(NODE) build/local/world.ts cluster-up
cluster-down: ## stop the local control plane and node agent
	$(NODE) build/local/world.ts down
up-direct: deps ## without Kubernetes: discovery and three members as plain processes on 127.0.10.x
	build/tools/install.sh etcd-3.6
	$(NODE) build/local/cluster.ts up
down-direct: ## stop the plain-process cluster
	$(NODE) build/local/cluster.ts down
status-direct: ## show the plain-process cluster
	$(NODE) build/local/cluster.ts status

##@ Measure
.PHONY: chaos
chaos: deps ## chaos run on the test world (CHAOS_FAULTS=50, CHAOS_SEED, CHAOS_OVERLAY=local|volumes): heal times, lost writes, porcupine verdict
	$(TOOLS) etcd
	$(TOOLS) kubernetes
	$(TOOLS) porcupine
	build/tools/system.sh nft:nftables
	$(NODE) test/chaos/run.ts

.PHONY: bench bench-rss
bench-rss: deps ## RSS of boot and discovery per runtime and V8 lever (bench/rss.ts; not a test)
	build/tools/install.sh etcd-3.6
	$(NODE) bench/rss.ts

bench: deps ## benchmarks as ratios against etcd's floor (not a test; writes bench/results/)
	build/tools/install.sh etcd-3.6
	$(NODE) bench/run.ts
