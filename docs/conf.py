"""Sphinx configuration for the flask-integrations documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "flask-integrations"
copyright = "flask-integrations contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_static_path = ["_static"]
exclude_patterns = ["_build"]
nitpicky = False
