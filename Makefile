# Two commands for a fresh machine (see README.md):
#   make course   set up .venv and open the course in JupyterLab
#   make test     set up .venv and run every test, notebooks included (quick mode)
# and the course as a static web site: make site (site/index.html; make test builds it first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup course test site strip clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[cpu,course,test]"
	touch $(STAMP)

course: $(STAMP)
	$(BIN)/jupyter lab notebooks/01_dataset.ipynb

# The course as a static web site: every notebook executed and rendered to HTML in site/, entry
# site/index.html, with README.md and docs/*.md as pages (docs/site.md). Quick mode unless told otherwise (CAE_QUICK=0 make site: the full figures); nothing to do
# when site/ was built from the same notebooks, library and settings (scripts/build_site.py --force rebuilds).
site: $(STAMP)
	CAE_QUICK=$${CAE_QUICK:-1} $(BIN)/python scripts/build_site.py

# Notebooks under test run in quick mode unless told otherwise (CAE_QUICK=0 make test).
# The site is built first: tests/test_browser.py opens it in Chromium.
test: $(STAMP) site
	CAE_QUICK=$${CAE_QUICK:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

# Remove outputs from every notebook before committing.
strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache site
