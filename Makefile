# Every target calls a script in scripts/, which works just as well on its own.
.PHONY: run test lint messages

run:  ## Serve the portal with demo data at http://127.0.0.1:8000/
	scripts/run

test:  ## Run the test suite (needs PostgreSQL and Redis; see scripts/test)
	scripts/test $(ARGS)

lint:  ## ruff check, ruff format --check, manage.py check
	scripts/lint

messages:  ## Re-extract the Welsh catalogue (locale/cy/LC_MESSAGES/django.po), compile it, list what lacks Welsh
	scripts/messages
