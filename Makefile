# bizcase developer commands. Everything runs inside a local virtual environment
# (.venv) that the first command creates, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Two test processes, one per core; a module's tests stay in one process, so its
# module-scoped fixtures (one LibreOffice batch each) run once.
XDIST  ?= -n 2 --dist loadfile

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

## demo: set up; generate the four example business cases and 20 varied ones into
## demo-output/cases/, print the examples' headline outputs, roll every case up into
## demo-output/portfolio.xlsx (in EUR, the USD examples converted at 0.92) choosing what
## to fund within EUR 20m, record it and a smaller rollup of the quarter before in
## demo-output/history.sqlite and explain the change (demo-output/review.xlsx), print the metrics of the example project table, then say
## how to run bizcase yourself
demo: $(STAMP)
	$(VENV)/bin/bizcase new --all-examples --generated 20 -o demo-output/cases --force
	$(VENV)/bin/bizcase evaluate demo-output/cases/analytics_addon.xlsx \
	    demo-output/cases/saas.xlsx demo-output/cases/hardware.xlsx demo-output/cases/sunset.xlsx
	$(VENV)/bin/bizcase rollup demo-output/cases/analytics_addon.xlsx demo-output/cases/saas.xlsx \
	    -o demo-output/last-quarter.xlsx --currency EUR --fx USD=0.90 --force \
	    --record --as-of 2026-09-30 --db demo-output/history.sqlite
	$(VENV)/bin/bizcase rollup demo-output/cases -o demo-output/portfolio.xlsx \
	    --currency EUR --fx USD=0.92 --budget 20000000 --simulate 5000 --correlation 0.5 \
	    --target 80000000 --force --record --as-of 2026-12-31 --db demo-output/history.sqlite
	$(VENV)/bin/bizcase review --db demo-output/history.sqlite -o demo-output/review.xlsx --force
	$(VENV)/bin/bizcase metrics
	@echo
	@echo "bizcase is installed in $(VENV), not on your PATH. Run it as $(VENV)/bin/bizcase,"
	@echo "or put it on the PATH of this shell first:  source $(VENV)/bin/activate"
	@echo "then:  bizcase --help"

## test: set up, then run the test suite with openpyxl's lxml writer switched off
## (OPENPYXL_LXML=False; lxml comes with python-pptx), then the tests that write
## workbooks again with it on (LibreOffice tests skip without soffice
## unless BIZCASE_REQUIRE_SOFFICE=1); pytest's "no tests collected" (5) is not a failure
test: $(STAMP)
	@BIZCASE_LXML=0 OPENPYXL_LXML=False $(PY) -m pytest $(XDIST) $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; status=0; fi; \
	[ $$status -eq 0 ] || exit $$status; \
	echo "--- again with lxml: the tests that write workbooks ---"; \
	BIZCASE_LXML=1 $(PY) -m pytest -m writes_workbooks $(XDIST) $(PYTEST_ARGS); \
	status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; \
	exit $$status

## bench: compare the engine with numpy-financial and pyxirr (not part of `make test`)
bench: $(STAMP)
	$(PY) tests/benchmarks/bench_finance.py
	$(PY) tests/benchmarks/bench_workbook.py
	$(PY) tests/benchmarks/bench_rollup.py
	$(PY) tests/benchmarks/bench_risk.py
	$(PY) tests/benchmarks/bench_limits.py
	$(PY) tests/benchmarks/bench_cli.py

## lint: ruff lint and format check
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info demo-output
