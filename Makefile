# Portico's two commands: `make run` starts the portal, `make test` runs every check. See README.md.
.PHONY: help run test ci smoke seed services lint format clean screenshots

PYTEST_ARGS ?=

help:
	@echo "make run     install, migrate, seed and start Portico (web + Celery worker + beat) on http://127.0.0.1:8000"
	@echo "make test    install and run ruff, Django checks and the whole pytest suite on PostgreSQL + Redis"
	@echo "make ci      what CI runs: a fresh database, make test, then a smoke run of the embedded default"
	@echo "make smoke   only the smoke run of the embedded default"
	@echo "make format  ruff format + ruff check --fix"
	@echo "make screenshots  run the browser walk and copy the README's screenshots from it to docs/screenshots/"

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh $(PYTEST_ARGS)

ci:
	@bash .ci/run

smoke:
	@bash scripts/smoke.sh

services:
	@bash scripts/services.sh

# The README's pictures are screenshots of the browser walk (tests/browser/test_walk_every_page.py README_SHOTS).
screenshots:
	@bash scripts/screenshots.sh

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

clean:
	rm -rf var/ staticfiles/ tests/artifacts/
