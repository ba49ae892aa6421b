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

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## install the npm packages (Node 24 comes from the node@24 package)

.PHONY: tools
tools: ## build the pinned etcd 3.6/3.7 and Kubernetes binaries into the tool cache (once)
	$(TOOLS) all

.PHONY: typecheck
typecheck: deps ## type-check everything with tsc
	node_modules/.bin/tsc --noEmit -p .

##@ Tests
.PHONY: test
test: deps tools typecheck ## install what is missing, then run every suite (the README's test command)
	$(NODE) build/docs.ts --check
	$(NODE) test/run.ts unit integration integration@3.7 e2e

.PHONY: test-unit test-integration test-e2e
test-unit: deps ## unit tests only (pure logic, no processes)
	$(NODE) test/run.ts unit
test-integration: deps tools ## integration tests (real etcd)
	$(NODE) test/run.ts integration
test-e2e: deps tools ## e2e tests (real etcd and the local Kubernetes control plane)
	$(NODE) test/run.ts e2e

##@ Run it
.PHONY: up down status
up: deps ## run a local cluster: the discovery service and three members on 127.0.10.x (make down stops it)
	build/tools/install.sh etcd-3.6
	$(NODE) build/local/cluster.ts up
down: ## stop the local cluster and remove its state
	$(NODE) build/local/cluster.ts down
status: ## show the local cluster's processes
	$(NODE) build/local/cluster.ts status

##@ Measure
.PHONY: bench
bench: deps ## benchmarks as ratios against etcd's floor (not a test; writes bench/results/)
	build/tools/install.sh etcd-3.6
	$(NODE) bench/run.ts
