"""Whose container a line of cloudprefs-manage export names: a user, or
a shared layer by name (never by its storage key)."""

import json

import pytest

from cloudprefs.cmd import manage
from cloudprefs.storage import owners


@pytest.mark.parametrize('record, owner', [
    ({'user_id': 'alice'}, owners.Owner(owners.USER, 'alice')),
    ({'layer': 'project', 'layer_id': 'p1'},
     owners.Owner(owners.PROJECT, 'p1')),
    ({'layer': 'domain', 'layer_id': 'default'},
     owners.Owner(owners.DOMAIN, 'default')),
    ({'layer': 'cloud', 'layer_id': None}, owners.Owner(owners.CLOUD, None)),
    ({'layer': 'cloud'}, owners.Owner(owners.CLOUD, None)),
])
def test_an_owner_is_read_back_as_exported(record, owner):
    assert manage._imported_owner_key(record) == owner.key
    line = manage._export_line(owner.key, 'c', _Read())
    assert '\x1f' not in line
    assert manage._imported_owner_key(json.loads(line)) == owner.key


class _Read:
    text = '{}'
    revision = 1
    modified_at = 0.0
    expires_at = None


@pytest.mark.parametrize('record', [
    {'layer': 'user', 'layer_id': 'u'},
    {'layer': 'team', 'layer_id': 't'},
    {'layer': 'project', 'layer_id': None},
    {'layer': 'project'},
    {'layer': 'domain', 'layer_id': ''},
    {'layer': 'domain', 'layer_id': 'd' * 65},
    {'layer': 'project', 'layer_id': 'p\n'},
    {'layer': 'cloud', 'layer_id': 'x'},
    {'user_id': ''}, {'user_id': 7}, {'user_id': None},
])
def test_a_bad_owner_is_refused(record):
    with pytest.raises(ValueError):
        manage._imported_owner_key(record)


def test_a_line_without_an_owner_is_refused():
    with pytest.raises(KeyError):
        manage._imported_owner_key({'container': 'c'})
