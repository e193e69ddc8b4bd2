"""Performance benchmarks (run as modules: `.venv/bin/python -m bench.roster_import`)."""
