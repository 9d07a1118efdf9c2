"""The documentation builds without warnings and lists every error code."""

import os
import re
import subprocess
import sys

from cloudprefs.api import errors
from cloudprefs.api import microversion

REFERENCE = os.path.join('doc', 'source', 'api-reference.rst')


def test_every_error_code_is_in_the_api_reference():
    with open(REFERENCE) as reference:
        text = reference.read()
    codes = [value for name, value in vars(errors).items()
             if name.isupper() and isinstance(value, str)
             and value.startswith('cloudprefs.')]
    assert len(codes) >= 15
    for code in codes:
        assert '``%s``' % code in text, code


def test_the_version_history_names_every_microversion():
    with open(REFERENCE) as reference:
        text = reference.read()
    history = text.split('\nVersion history\n', 1)[1]
    listed = re.findall(r'^(1\.[0-9]+)$', history, re.MULTILINE)
    assert listed == list(microversion.VERSIONS)


def test_sphinx_builds_without_warnings(tmp_path):
    sphinx = os.path.join(os.path.dirname(sys.executable), 'sphinx-build')
    result = subprocess.run([sphinx, '-W', '-q', '-b', 'html',
                             os.path.join('doc', 'source'), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'api-reference.html').exists()
    html = (tmp_path / 'api-reference.html').read_text()
    assert re.search(r'Patch a container', html)
