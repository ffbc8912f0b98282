# The two commands of the README; scripts/dev.sh does the work.
.PHONY: demo test setup lint pytest jest ui bench
demo:  ## set up and launch JupyterLab with jupyter-dataops on the demo workspace
	./scripts/dev.sh demo
test:  ## set up what the tests need, lint, and run pytest, jest and the galata UI tests
	./scripts/dev.sh test
setup:
	./scripts/dev.sh setup
lint:
	./scripts/dev.sh lint
pytest:
	./scripts/dev.sh pytest
jest:
	./scripts/dev.sh jest
ui:
	./scripts/dev.sh ui
bench:
	./scripts/dev.sh bench
