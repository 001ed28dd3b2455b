# Two commands for a fresh machine (see README.md):
#   make course   set up .venv and open the course in JupyterLab
#   make test     set up .venv and run every test, notebooks included (quick mode)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup course test strip clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	touch $(STAMP)

course: $(STAMP)
	$(BIN)/jupyter lab notebooks/01_dataset.ipynb

# Notebooks under test run in quick mode unless told otherwise (CAE_QUICK=0 make test).
test: $(STAMP)
	CAE_QUICK=$${CAE_QUICK:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

# Remove outputs from every notebook before committing.
strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache
