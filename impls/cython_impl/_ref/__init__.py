"""The reference stage modules compiled as-is by Cython (setup.py builds them from copies of
impls/reference/*.py). Only the compiled extension modules live here: if they were not built,
importing a submodule fails, and impls.cython_impl reports itself unavailable."""
