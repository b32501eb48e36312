# The two commands: `make run` (the whole app on embedded defaults) and `make test` (the suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format migrate seed clean-venv

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@echo "==> Creating $(VENV) and installing requirements (first run takes a minute)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/pip install --quiet --progress-bar off -r requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import django, simple_history, celery" || { echo "install failed"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo "==> http://127.0.0.1:8000  (demo logins in README.md); web + Celery worker + beat, Ctrl-C stops all"
	@mkdir -p var/broker var/broker-processed var/broker-control
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
