.PHONY: demo test

# Build everything needed, then show actors at work.
demo:
	.ci/run setup
	.venv/bin/python -P examples/demo.py

# The whole test suite: lint, Rust tests, types, our tests, Pykka's suite,
# those two again on one CPU, and the signal tests as a background job.
test:
	.ci/run setup lint rust types python pykka-suite one-cpu background
