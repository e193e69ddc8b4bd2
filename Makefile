# Xiaobao (小保) — developer entry points. `make help` lists them.
#
# Two Python environments (see DESIGN.md, "Two Python environments"):
#   .venv      Python >= 3.11  pyproject.toml         platform, CLI, tests
#   .venv-bot  Python 3.10     bot/requirements.txt   Rasa 3.6.21 + actions (Rasa needs <= 3.10)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-builtin-variables

VENV     := .venv
VENV_BOT := .venv-bot
PY       := $(VENV)/bin/python
PY_BOT   := $(VENV_BOT)/bin/python

# The project's small pure libraries (libs/), installed editable into both venvs: pyproject.toml
# names them; .venv-bot gets them here, beside bot/requirements.txt (a pip freeze, and training
# input: xiaobao/bot.py hashes bot/ to name the model). Their files are prerequisites of both
# stamps, so a change to one reinstalls it.
LIBS      := libs/cn_identity
LIB_FILES := $(foreach l,$(LIBS),$(wildcard $(l)/pyproject.toml $(l)/src/*/*.py $(l)/src/*/py.typed))

# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-x -k claim'
PYTEST_ARGS ?=

# pip's version check is a network round trip on every call; Rasa 3.6 (SQLAlchemy 1.4) prints
# SQLAlchemy 2.0 deprecation warnings at start unless silenced. Exported so sub-processes
# (tests that start rasa, `xiaobao up`) inherit them; SQLAlchemy 2.x in .venv ignores it.
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Shell snippets that print the first working interpreter. Each candidate is actually run:
# pyenv shims exist on PATH for versions that are not active and fail when called.
# `import ensurepip` weeds out distro Pythons without the venv package.
FIND_PY_APP = for c in python3 python3.13 python3.12 python3.11 \
	    $$(ls -d $$HOME/.pyenv/versions/3.1[1-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if "$$c" -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; \
	  then echo "$$c"; break; fi; done
FIND_PY_BOT = for c in python3.10 \
	    $$(ls -d $$HOME/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -rV); do \
	  if "$$c" -c 'import sys, ensurepip; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; \
	  then echo "$$c"; break; fi; done

# A venv whose interpreter no longer runs (Python removed or upgraded under it) or has the
# wrong version is rebuilt: checked at parse time (~20 ms) and turned into a forced rebuild.
APP_OK := $(shell $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo ok)
BOT_OK := $(shell $(PY_BOT) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1 && echo ok)

.PHONY: help install install-app install-bot fonts nginx test lint run bench clean FORCE

help: ## List the targets
	@echo "Xiaobao (小保) — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16
	@echo "Variables: PYTEST_ARGS='...' (extra pytest arguments)"

install: install-app install-bot ## Build .venv (Python >= 3.11) and .venv-bot (Python 3.10); no-op when up to date

install-app: $(VENV)/.installed ## Build only .venv (platform, CLI, tests)

install-bot: $(VENV_BOT)/.installed ## Build only .venv-bot (Rasa 3.6.21)

# The stamp is newer than pyproject.toml and libs/ once pip install succeeded; make then skips it.
$(VENV)/.installed: pyproject.toml $(LIB_FILES) $(if $(APP_OK),,FORCE)
	@py="$$($(FIND_PY_APP))"; \
	if [ -z "$$py" ]; then \
	  echo "error: no Python >= 3.11 found (tried python3, python3.1x, ~/.pyenv/versions/3.1[1-9]*)." >&2; \
	  echo "       Install one, e.g. 'pyenv install 3.11' or your distro's python3.11 + python3.11-venv." >&2; \
	  exit 1; \
	fi; \
	if [ -z "$(APP_OK)" ]; then \
	  echo "==> creating $(VENV) with $$py ($$("$$py" -V 2>&1))"; \
	  rm -rf $(VENV); "$$py" -m venv $(VENV); \
	fi
	@echo "==> pip install -e '.[dev]' $(LIBS) into $(VENV)"
	$(PY) -m pip install -q $(foreach l,$(LIBS),-e ./$(l)) -e '.[dev]'
	@touch $@

$(VENV_BOT)/.installed: bot/requirements.txt $(LIB_FILES) $(if $(BOT_OK),,FORCE)
	@py="$$($(FIND_PY_BOT))"; \
	if [ -z "$$py" ]; then \
	  echo "error: the bot needs Python 3.10 (Rasa 3.6.21 runs on 3.8-3.10 only) and none was found" >&2; \
	  echo "       (tried python3.10 on PATH and ~/.pyenv/versions/3.10.*/bin/python3.10)." >&2; \
	  echo "       Install one: 'pyenv install 3.10', or your distro's python3.10 + python3.10-venv" >&2; \
	  echo "       (e.g. via the deadsnakes PPA on Ubuntu)." >&2; \
	  exit 1; \
	fi; \
	if [ -z "$(BOT_OK)" ]; then \
	  echo "==> creating $(VENV_BOT) with $$py ($$("$$py" -V 2>&1))"; \
	  rm -rf $(VENV_BOT); "$$py" -m venv $(VENV_BOT); \
	fi
	@echo "==> pip install -r bot/requirements.txt $(LIBS) into $(VENV_BOT) (Rasa + TensorFlow: minutes the first time)"
	$(PY_BOT) -m pip install -q -r bot/requirements.txt $(foreach l,$(LIBS),-e ./$(l))
	@touch $@

FORCE:

# Chinese fonts for the OCR tests and bench, which draw their documents (bench/ocr_synth.py).
# Debian packages; installed here when missing and we may (root with apt-get), else named.
OCR_FONT_PKGS := fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-uming
# all three: the synthetic documents draw with each of them (bench/ocr_synth.py), and a machine
# may have one of them already (another package pulled it in)
OCR_FONT_FILES := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
  /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/truetype/arphic/uming.ttc

fonts: ## Install the Chinese fonts the OCR tests draw with (Debian, as root) when missing
	@missing=0; for f in $(OCR_FONT_FILES); do [ -f "$$f" ] || missing=1; done; \
	if [ $$missing = 0 ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "==> apt-get install $(OCR_FONT_PKGS)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(OCR_FONT_PKGS) >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(OCR_FONT_PKGS) >/dev/null; }; \
	else \
	  echo "error: the OCR tests need Chinese fonts: install the Debian packages" >&2; \
	  echo "       $(OCR_FONT_PKGS) (sudo apt-get install ...)" >&2; \
	  exit 1; \
	fi

# A real nginx for tests/test_trusted_proxy.py (TLS in front of the platform) and
# tests/test_nginx_sticky.py (deploy/nginx: sticky routing to two platform processes).
nginx: ## Install nginx-light and docker-compose for the proxy and deploy tests (Debian, as root) when missing
	@missing=""; \
	{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || missing="nginx-light"; \
	command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "==> apt-get install $$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing \
	    >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $$missing >/dev/null; }; \
	else \
	  echo "error: the proxy and deploy tests need: sudo apt-get install$$missing" >&2; \
	  exit 1; \
	fi

lint: install-app ## ruff check
	$(VENV)/bin/ruff check .

# Both venvs: tests drive a real Rasa from .venv-bot. pytest's exit code is passed on as is
# (5 = no tests collected is a failure too).
test: install fonts nginx ## ruff check, then pytest (PYTEST_ARGS passed through)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

run: install ## xiaobao up: migrate, seed demo data into an empty DB, serve (Ctrl-C stops)
	$(VENV)/bin/xiaobao up

# Each script runs as a module (python -m bench.X) so that it can import bench.common; files
# without a main guard (helpers such as common.py, ocr_synth.py) are not benchmarks.
bench: install fonts ## Run every benchmark in bench/ with .venv's Python; each prints its figures
	@shopt -s nullglob; failed=(); \
	for s in bench/*.py; do \
	  grep -q '__name__ == "__main__"' "$$s" || continue; \
	  mod="bench.$$(basename "$$s" .py)"; \
	  echo "==> python -m $$mod"; \
	  $(PY) -m "$$mod" || failed+=("$$mod"); \
	done; \
	if [ $${#failed[@]} -gt 0 ]; then echo "failed: $${failed[*]}" >&2; exit 1; fi

clean: ## Remove both venvs, var/, caches and build leftovers (keeps models/)
	rm -rf $(VENV) $(VENV_BOT) var .pytest_cache .ruff_cache build *.egg-info \
	  $(foreach l,$(LIBS),$(l)/build $(l)/src/*.egg-info)
	find . -name __pycache__ -type d -not -path './models/*' -prune -exec rm -rf {} +
