# Signpost: `make serve` and `make test` are the two commands; the rest helps.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck openapi bench soak clean browser ehr native

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The pages' NHS design system and the browser tests' axe-core come from npm (package-lock.json); never committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# LHC-Forms, the SDC renderer clinical front ends embed, for the test that the template works in it unchanged. Its npm
# package declares its whole Angular build tree as dependencies; only the built files are needed, so take the
# published tarball alone, check it against the registry's integrity hash, and unpack its dist/.
LFORMS := 40.1.3
LFORMS_SHA512 := WLruTm+BcVnafC0rSAQ3/cNqhxvclBUxyBG68aub/uha2NaK9H8ZZcEXTTuORuGzzCt0wa7fvhuieZtcDIdPzQ==
node_modules/lforms-dist/.installed: node_modules/.installed
	rm -rf node_modules/lforms-dist node_modules/.lforms && mkdir -p node_modules/.lforms
	cd node_modules/.lforms && npm pack --silent lforms@$(LFORMS) >/dev/null
	$(PYTHON) -c "import base64, hashlib, sys; data = open(sys.argv[1], 'rb').read(); \
		sys.exit(base64.b64encode(hashlib.sha512(data).digest()).decode() != sys.argv[2])" \
		node_modules/.lforms/lforms-$(LFORMS).tgz "$(LFORMS_SHA512)"
	tar -xzf node_modules/.lforms/lforms-$(LFORMS).tgz -C node_modules/.lforms package/dist/lforms
	mv node_modules/.lforms/package/dist/lforms node_modules/lforms-dist && rm -rf node_modules/.lforms
	touch $@

# `$signpost`'s hot modules compiled with mypyc (signpost/native.py), again whenever the source changes. Where they
# cannot be built, or the source changed since, the same modules run as plain Python. The stamp bears the time the
# build began, so a file saved during the build is newer than it and the next make builds again.
NATIVE := build/native/.attempted
$(NATIVE): $(STAMP) $(shell find signpost -name '*.py')
	mkdir -p build && touch build/.native-began
	$(BIN)/python -c 'from signpost import native; native.build()'
	mkdir -p $(@D) && mv build/.native-began $@
native: $(NATIVE)

# Chromium for the browser tests (tests/web/browser); without it they skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "Chromium could not be installed: the browser tests will skip"

serve: $(STAMP) $(NATIVE) node_modules/.installed
	PORT=$(PORT) $(BIN)/signpost serve --port $(PORT)

# The simulated EHR (tests/simulated_ehr) beside `make serve`: it prints the SIGNPOST_TRUSTED_EHRS to start Signpost with.
EHR_PORT ?= 8900
ehr: $(STAMP)
	$(BIN)/python -m tests.simulated_ehr --port $(EHR_PORT) --signpost http://127.0.0.1:$(PORT)

test: $(STAMP) $(NATIVE) node_modules/.installed node_modules/lforms-dist/.installed browser
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check signpost tests bench
	$(BIN)/mypy signpost

openapi: $(STAMP)
	$(BIN)/python -m signpost.openapi_dump openapi.yaml

# wrk drives the HTTP benchmarks from C, so the load generator does not compete with the server for Python time.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| echo "wrk could not be installed: the benchmarks fall back to an httpx load generator"
	$(BIN)/python -m bench.run

# Load, kill -9 and database outage on SQLite and PostgreSQL (about 5 minutes; SOAK_SECONDS, SOAK_ONLY to narrow).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) var build/native
