"""Build hook for the Cython implementation's extensions (see impls/cython_impl/)."""
from setuptools import setup

setup()
