"""Sphinx configuration of the Cloud Preferences documentation."""

project = 'Cloud Preferences'
copyright = '2026, Cloud Preferences developers'
extensions = []
master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
# Every warning is an error in tox -e docs and in the test that builds it.
nitpicky = False
