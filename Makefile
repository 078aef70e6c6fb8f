# Two entry points do all set-up on a fresh machine with only Python 3.11+:
#   make run   -> the daily job with the shipped ecotrend.toml
#   make test  -> the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# the tests also run the Spark job (the spark extra; Java 17+ from the system)
SPARK_STAMP := $(VENV)/.installed-spark-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test bench demo install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ecotrend run

test: $(SPARK_STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/run.py

demo: $(STAMP)
	$(BIN)/ecotrend demo

clean:
	rm -rf $(VENV) site data demo
