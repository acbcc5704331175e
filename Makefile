# netvirt.linux developer and CI entry points. Plain targets; the work is in scripts/.
#
#   make venv      .venv (newest Python 3.11-3.14; ansible-core 2.19 on 3.11, 2.21 on 3.12+),
#                  Debian packages, collection symlink
#   make test      everything CI runs: ruff, changelog, docs (antsibull-docs), unit, types (mypy),
#                  ansible-lint, ansible-test sanity (sanity beside the others, two at a time),
#                  then one pytest session (unit + integration + build check, -m "not soak")
#   make ruff | changelog | docs | unit | types | ansible-lint | sanity | pytest    one stage
#                  (make sanity SANITY_TEST=pylint: one ansible-test sanity test)
#                  make test stays under 15 minutes on two cores: modules run in-process in
#                  the four-step and refusal tests (NETVIRT_TEST_VIA=ansible make pytest: all
#                  through ansible-playbook), the 25 slowest tests are listed at the end
#   make soak      the soaks make test leaves out (pytest -m soak), each a path make test
#                  proves once: the Molecule scenarios but one (and their converges' user
#                  paths), the multi-host runs beyond stretched_lab.yml's user path on two hosts
#                  (lab_host and seed lab 000 on three hosts, once and again; the stretched lab's
#                  details), the generated labs beyond the first few through ansible-playbook
#   make molecule  every role's Molecule scenarios end to end (molecule test, one by one)
#   make lab | lab-down    stand up / tear down seed labs 000 and 002 on THIS host (root)
#   make try [LAB=seed003_bridge_host] [TRY_COMMAND='ip netns list']
#                  a seed lab (002 by default) in a private network sandbox, with a shell
#                  in it (or that command); the host's network untouched (scripts/try.sh)
#   make pictures  redraw docs/images/ (the walkthrough's labs, each built in a sandbox,
#                  read by lab_info, drawn by Graphviz dot: scripts/render_walkthrough.py)
#   make bench     benchmark S(10..1000): topology vs ip -batch vs pyroute2, per-object task cost;
#                  writes docs/performance.md with a plot (installs requirements-bench.txt)
#   make fuzz SEED=20261202 COUNT=40    generated random labs, both ways (tests/integration/labgen.py),
#                  and COUNT generated lab files (labfilegen.py), MULTIHOST_COUNT of them on three hosts
#   make clean     remove build/ and tests/output/ (keeps .venv)

SHELL := /bin/bash
VENV := .venv
COLLECTIONS := $(CURDIR)/build/collections
PLAYBOOK := ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(VENV)/bin/ansible-playbook \
	-i localhost, -c local -e ansible_python_interpreter=$(CURDIR)/$(VENV)/bin/python

export SANITY_TEST

.PHONY: all venv test ruff changelog docs unit types ansible-lint sanity pytest soak molecule lab lab-down try pictures bench fuzz clean distclean

all: test

venv:
	@scripts/bootstrap.sh

test: venv
	@scripts/test.sh all

ruff changelog docs unit types ansible-lint sanity pytest soak molecule: venv
	@scripts/test.sh $@

lab: venv
	$(PLAYBOOK) playbooks/two_labs.yml

lab-down: venv
	$(PLAYBOOK) playbooks/two_labs_down.yml

# A seed lab in a private sandbox with a shell (TRY_COMMAND, from the environment, instead of one).
LAB ?= seed002_bridge_netns
try: venv
	@scripts/try.sh "$(LAB)"

pictures: venv
	$(VENV)/bin/python scripts/render_walkthrough.py

# S(10), S(100), S(1000), medians of 3, every method in one sandbox per size (root);
# writes docs/performance.md and docs/images/performance.png. BENCH_ARGS="--quick" for a short run.
BENCH_ARGS ?=
bench: venv
	$(VENV)/bin/python -m pip install -qq --disable-pip-version-check -r requirements-bench.txt
	$(VENV)/bin/python scripts/bench.py --output docs/performance.md $(BENCH_ARGS)

# Generated labs: lab i has seed SEED+i; each is built as one topology task and as
# per-object tasks, each in a fresh sandbox (root). FUZZ_JOBS pytest workers.
SEED ?= 20261202
COUNT ?= 40
FUZZ_JOBS ?= $(shell nproc)
MULTIHOST_COUNT ?= 4
fuzz: venv
	NETVIRT_FUZZ_RUNNER=ansible NETVIRT_FUZZ_SEED=$(SEED) NETVIRT_FUZZ_COUNT=$(COUNT) \
		NETVIRT_LABFILE_COUNT=$(COUNT) NETVIRT_LABFILE_MULTIHOST_COUNT=$(MULTIHOST_COUNT) \
		$(VENV)/bin/python -m pytest -p no:cacheprovider \
		-n $(FUZZ_JOBS) tests/integration/test_generated_labs.py tests/integration/test_generated_lab_files.py

clean:
	rm -rf build tests/output .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
