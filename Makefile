# Set-up and entry points. The environment comes from uv.lock alone, so every machine gets
# the same packages; uv itself is pinned and installed into .tools/.
UV_VERSION := 0.13.8
PYTHON ?= python3
UV := .tools/bin/uv
VENV_STAMP := .venv/.synced
# The Kubeflow Pipelines compiler has an environment of its own: kfp pins protobuf, requests
# and urllib3 below seqpipe's lock.
KUBEFLOW_STAMP := infra/kubeflow/.venv/.synced

.PHONY: setup demo test test-fast lint typecheck bench ui kubeflow clean system-packages

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV_STAMP): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	touch $(VENV_STAMP)

setup: $(VENV_STAMP) ## create .venv from the lock file

$(KUBEFLOW_STAMP): $(UV) infra/kubeflow/uv.lock infra/kubeflow/pyproject.toml
	$(UV) sync --frozen --project infra/kubeflow --python 3.11 --compile-bytecode
	touch $(KUBEFLOW_STAMP)

kubeflow: setup $(KUBEFLOW_STAMP) ## every family as a Kubeflow Pipelines spec in build/kubeflow/
	$(UV) run --frozen python -m pipelines.kubeflow --out build/kubeflow

demo: setup ## the main job: every family, quick profile, then the leaderboard
	$(UV) run --frozen seqpipe run all --profile quick

# Two workers, one per core; each test module stays on one worker, with its module fixtures.
# What the suite runs for real besides Python packages: PostgreSQL (the tracking server's
# store) and Chromium (the MLflow UI test), from Debian's packages when missing.
system-packages:
	bash infra/local/tracking-server.sh install
	bash tests/install-chromium.sh

test: setup $(KUBEFLOW_STAMP) system-packages lint typecheck ## lint and type-check, then the whole test suite
	$(UV) run --frozen pytest -n 2 --dist loadfile --durations=30

test-fast: setup ## unit tests only (no training flows)
	$(UV) run --frozen pytest -n 2 --dist loadfile -m "not slow"

lint: setup ## ruff: lint rules and formatting
	$(UV) run --frozen ruff check components pipelines tests bench infra/kubeflow
	$(UV) run --frozen ruff format --check components pipelines tests bench infra/kubeflow

typecheck: setup ## mypy on components and pipelines (its settings: pyproject.toml)
	$(UV) run --frozen mypy

bench: setup ## benchmarks on the full profile: quality, speed and overhead figures
	$(UV) run --frozen python -m bench.forecasting
	$(UV) run --frozen python -m bench.textclf
	$(UV) run --frozen python -m bench.translation
	$(UV) run --frozen python -m bench.images
	$(UV) run --frozen python -m bench.chargen --minutes 20

ui: setup ## open the MLflow UI on the local store
	$(UV) run --frozen seqpipe ui --launch

clean:
	rm -rf .venv .tools .seqpipe infra/kubeflow/.venv build
