# rocksoil workbook. First commands on a fresh machine:  make report   |   make test
AOI ?= demo
PROFILE ?=
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
VARIANT ?=
MODEL ?=
WORKERS ?=
PROFILE_ARG := $(if $(PROFILE),--profile $(PROFILE),)
NB_ARGS := $(if $(VARIANT),--variant $(VARIANT),) $(if $(MODEL),--model $(MODEL),)


.PHONY: help env report docs experiments test test-extra check-live browser workshop test-slow lab lint format simulate bench-difficulty bench-lst-err bench-preprocess bench-models bench-reconstruct bench-budget results-readme trust-readme context-readme transfer strip clean-data

help:
	@echo "make report [AOI=demo] [PROFILE=quick|standard|thesis] [VARIANT=…] [MODEL=…]  notebooks 01..09 into reports/<aoi>/<profile>/"
	@echo "make test                                            unit + notebook + real-browser tests (demo, quick)"
	@echo "make docs                                            the documentation site (docs/_build/html) from the executed demo report"
	@echo "make test-extra                                      checks CI also runs (every model under the JAX backend)"
	@echo "make check-live                                      ask the real AppEEARS / Earth Engine what the test doubles assume (needs accounts)"
	@echo "make workshop                                        prepare a room of laptops offline (env, demo data, trained demo model)"
	@echo "make lab                                             JupyterLab on notebooks/"
	@echo "make experiments AOI=<aoi> [PROFILE=…] [WORKERS=N]   train the variant x model x protocol matrix (resumable, N processes)"
	@echo "make simulate AOI=<aoi>                              write simulated raw data to data/<aoi>/raw"
	@echo "make bench-difficulty                                per-pixel baseline figures for every area (slow)"
	@echo "make bench-lst-err                                   what the thesis's LST_err mix-up costs (simulated and real Santa Olalla)"
	@echo "make bench-preprocess [AOI=villoslada]               timing of 03 and 05 against plain rasterio reads"
	@echo "make bench-models                                    training/prediction patches/s and share of measured matmul peak"
	@echo "make bench-budget [AOI=demo] [PROFILE=quick]       the whole report from nothing: wall and CPU time per notebook against the budget (written into parameters/)"
	@echo "make results-readme [AOI=demo] [PROFILE=quick] [VARIANT=…] [SEEDS=\"0 1 2\"]  the README's results table (or seed spread) from the runs' files"
	@echo "make context-readme                                  the spatial-context target table (README) from the generated results tables"
	@echo "make transfer [AREAS=\"puertollano santa_olalla villoslada\"] [PROFILE=standard]  train on two areas, test on the third (README table)"
	@echo "make trust-readme [AREAS=\"villoslada …\"] [PROFILE=standard]   the README's calibration and applicability table from 08's tables"
	@echo "make bench-reconstruct                               full-scene mapping overhead and predict peak memory"

# Virtual environment with the pinned dependencies and a registered Jupyter kernel ("rocksoil").
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name rocksoil --display-name "Python (rocksoil)" >/dev/null
	-git rev-parse --git-dir >/dev/null 2>&1 && $(VENV)/bin/nbstripout --install
	touch $(STAMP)

env: $(STAMP)

report: $(STAMP)
	$(PY) -m rocksoil_nb.report --aoi $(AOI) $(PROFILE_ARG) $(NB_ARGS)

# The documentation site, offline: renders the executed demo report (made first if missing), warnings are errors,
# every internal link is checked (docs/build.py).
DEMO_REPORT := $(or $(ROCKSOIL_WORKDIR),.)/reports/demo/quick
docs: $(STAMP)
	test -f $(DEMO_REPORT)/09_ndvi_analysis.ipynb || $(PY) -m rocksoil_nb.report --aoi demo --profile quick
	$(PY) docs/build.py --notebooks $(DEMO_REPORT)

test: $(STAMP) browser
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not slow and not extra"

test-extra: $(STAMP)
	$(PY) -m pytest -q -m extra

# For whoever has accounts: the calls that decide whether the test doubles behave like the services, written to
# reports/live_check.json (skipped with a message for a service without credentials).
check-live: $(STAMP)
	$(PY) -m rocksoil_nb.acquire.live --out reports/live_check.json

# Debian's Chromium for the real-browser test (Playwright drives it; no browser download). Needs root or sudo-less apt.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install Debian chromium: the browser test will be skipped (fails under CI=true)"

# Everything a room of laptops needs offline: environment, demo data, a trained demo model, the executed demo report.
workshop: $(STAMP)
	$(PY) -m rocksoil_nb.report --aoi demo --profile quick
	@echo "workshop ready: open JupyterLab with 'make lab' and follow notebooks/README.md; report in reports/demo/quick/index.html"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

lint: $(STAMP)
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff check --fix .

simulate: $(STAMP)
	$(VENV)/bin/rocksoil simulate --aoi $(AOI)

experiments: $(STAMP)
	$(VENV)/bin/rocksoil experiments --aoi $(AOI) $(PROFILE_ARG) $(if $(WORKERS),--workers $(WORKERS),)

bench-difficulty: $(STAMP)
	$(PY) bench/difficulty.py

bench-lst-err: $(STAMP)
	$(PY) bench/lst_err.py

bench-models: $(STAMP)
	$(PY) bench/models.py

bench-budget: $(STAMP)
	$(PY) bench/budget.py --aoi $(AOI) --profile $(if $(PROFILE),$(PROFILE),quick) --write-docs

# The README's results tables, from the report folders' CSVs (after make report).
results-readme: $(STAMP)
	$(PY) -m rocksoil_nb.analyse.readme_tables --aoi $(AOI) --profile $(if $(PROFILE),$(PROFILE),quick) $(if $(VARIANT),--variant $(VARIANT),) $(if $(SEEDS),--seeds $(SEEDS),) $(if $(REBUILD),--rebuild,)

context-readme: $(STAMP)
	$(PY) -m rocksoil_nb.analyse.readme_tables --context

transfer: $(STAMP)
	$(VENV)/bin/rocksoil transfer --areas $(if $(AREAS),$(AREAS),puertollano santa_olalla villoslada) --profile $(if $(PROFILE),$(PROFILE),standard) --readme

trust-readme: $(STAMP)
	$(PY) -m rocksoil_nb.analyse.readme_tables --trust $(if $(AREAS),$(AREAS),villoslada puertollano santa_olalla santa_olalla_thesis) --profile $(if $(PROFILE),$(PROFILE),standard) --variant thermal_only

bench-reconstruct: $(STAMP)
	$(PY) bench/reconstruct.py

bench-preprocess: $(STAMP)
	$(PY) bench/preprocess.py $(if $(filter demo,$(AOI)),villoslada,$(AOI))

strip: $(STAMP)
	$(VENV)/bin/nbstripout notebooks/*.ipynb

clean-data:
	rm -rf data/$(AOI) reports/$(AOI)
