# Command 1: `make up`   — install everything and run the platform (embedded default).
# Command 2: `make test` — lint and run the whole test suite on SQLite and PostgreSQL.
.PHONY: up test install messages

up: install
	.venv/bin/chappe up

install:
	scripts/bootstrap

test:
	scripts/test

messages:
	.venv/bin/python manage.py makemessages -l fr --ignore=.venv --ignore=var
	.venv/bin/python manage.py compilemessages --ignore=.venv
