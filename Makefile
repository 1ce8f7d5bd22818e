# A new machine needs two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed

.DEFAULT_GOAL := help
.PHONY: help run test bench lint format generate migrate breaking lock clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed: make PYTHON=python3.11 ..." if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,embedded]'
	touch $@

# Not `npm ci`: the lockfile lists buf's binary packages only for the platforms the registry
# it was made from carries; `npm install --no-save` installs from it and leaves it as it is.
$(NODE_INSTALLED): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

run: $(INSTALLED)  ## migrate the database, then serve gRPC on $GRPC_PORT (50051)
	$(BIN)/python -m user_service migrate
	LOG_FORMAT=$${LOG_FORMAT:-text} $(BIN)/python -m user_service serve

test: $(INSTALLED)  ## run every test against PostgreSQL and Redis on 127.0.0.1
	$(BIN)/python -m pytest

# Speed is measured here, never in make test. ONLY=getme, BENCH_SECONDS=... and the other
# settings (python -m tools.bench --help) reach it as environment variables.
bench: $(INSTALLED)  ## calls/s, p50, p99 of each RPC against ceilings measured alongside (ONLY=getme ...)
	$(BIN)/python -m tools.bench

# The Kubernetes version k8s/ is validated against: the oldest the clusters run.
KUBERNETES_VERSION ?= 1.34

lint: $(INSTALLED) $(NODE_INSTALLED)  ## ruff, mypy, buf lint, generated code up to date, hadolint, k8s/ schemas
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tools/protos.py deps
	npx --no-install buf lint
	$(BIN)/python tools/protos.py check
	$(BIN)/hadolint --no-color Dockerfile
	$(BIN)/python tools/k8s.py validate --kubernetes-version $(KUBERNETES_VERSION)

format: $(INSTALLED)  ## let ruff fix what it can
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

generate: $(INSTALLED)  ## regenerate generated/ and k8s/envoy/userservice.pb from protos/
	$(BIN)/python tools/protos.py generate

migrate: $(INSTALLED)  ## bring the database to the newest schema
	$(BIN)/python -m user_service migrate

BREAKING_AGAINST ?= main
breaking: $(INSTALLED) $(NODE_INSTALLED)  ## buf breaking (WIRE_JSON) against the contract on $BREAKING_AGAINST
	$(BIN)/python tools/protos.py deps
	git show $(BREAKING_AGAINST):generated/userservice.pb > .build/against.binpb
	npx --no-install buf breaking protos --against .build/against.binpb

lock:  ## re-resolve constraints.txt, the exact versions every install uses
	rm -rf .build/lock-venv
	$(PYTHON) -m venv .build/lock-venv
	.build/lock-venv/bin/python -m pip install --quiet '.[dev,embedded]'
	.build/lock-venv/bin/python -m pip freeze | grep -v '^user-service' > constraints.txt
	rm -rf .build/lock-venv

clean:  ## remove what make made (not .data/)
	rm -rf $(VENV) node_modules .build .pytest_cache .mypy_cache .ruff_cache *.egg-info
