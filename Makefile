# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
# Both build .venv from the pinned, tested versions in requirements.lock.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= results

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mevlab compare --preset superchain --seeds 4 --topology isolated,shared --out $(OUT)
	$(BIN)/mevlab sealed --preset superchain --seeds 2 --out $(OUT)
	$(BIN)/mevlab batch --preset superchain --seeds 2 --out $(OUT)
	$(BIN)/mevlab cross --preset mixed-stack --seeds 2 --runs 40 --out $(OUT)/cross

# the notebooks are jupytext sources: made into .ipynb in $(NB) and run by nbmake at smoke size
NB := .nbrun
test: $(STAMP)
	rm -rf $(NB) && mkdir -p $(NB)
	for f in notebooks/*.py; do \
		$(BIN)/jupytext --quiet --to ipynb -o $(NB)/$$(basename $$f .py).ipynb $$f || exit 1; \
	done
	MEVLAB_SMOKE=1 $(BIN)/python -m pytest -q tests --nbmake $(NB)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) results .pytest_cache $(NB)
