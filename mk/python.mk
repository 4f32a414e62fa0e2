#  The Python client (clients/python) and the protocol test vectors.
#
#  make vectors       write protocol/vectors/*.json again from the generator
#                     (git diff shows what changed; the files are the truth)
#  make python-check  the Python client's tests on this build (also in make test)

PYTHON ?= /usr/bin/python3

.PHONY: vectors python-check
vectors:
	$(PYTHON) protocol/vectors/generate.py

python-check: programs
	@sh tests/test_python.sh $(BUILD)
