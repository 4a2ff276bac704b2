.PHONY: demo test

# Build everything needed, then show actors at work: counting words, a
# supervised pool of process actors that survives the death of a worker, and
# a pipeline of process actors over bounded channels.
demo:
	.ci/run setup
	.venv/bin/python -P examples/demo.py
	.venv/bin/python -P examples/supervised_pool.py --top
	.venv/bin/python -P examples/channel_pipeline.py

# The whole test suite: lint, Rust tests, types, our tests, Pykka's suite,
# Thespian's suite, our tests and Pykka's again on one CPU, and the signal
# tests as a background job.
test:
	.ci/run setup lint rust types python pykka-suite thespian-suite one-cpu background
