"""Fault injection and load on the distributed topology (`make chaos`; a smaller profile runs
inside `make test`): see bench/chaos/run.py."""
