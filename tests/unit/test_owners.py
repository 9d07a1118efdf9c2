"""Storage keys of users and shared layers."""

import pytest

from cloudprefs.api import request as api_request
from cloudprefs.storage import owners


@pytest.mark.parametrize('owner', [
    owners.Owner(owners.USER, 'u'), owners.Owner(owners.USER, 'é:x'),
    owners.Owner(owners.PROJECT, 'p'), owners.Owner(owners.PROJECT, 'a:b'),
    owners.Owner(owners.DOMAIN, 'default'),
    owners.Owner(owners.CLOUD, None)])
def test_a_key_reads_back_as_its_owner(owner):
    assert owners.parse(owner.key) == owner
    assert owners.is_user(owner.key) == (owner.layer == owners.USER)


@pytest.mark.parametrize('user_id', [
    'project:p', 'cloud:', 'domain:default', ' project:p', 'x' * 255])
def test_no_valid_user_id_is_a_layer(user_id):
    assert api_request.is_valid_user_id(user_id)
    assert owners.is_user(user_id)
    assert owners.parse(user_id) == owners.Owner(owners.USER, user_id)


def test_layer_ids_are_keystone_sized():
    assert owners.is_valid_layer_id('a' * 64)
    assert not owners.is_valid_layer_id('a' * 65)
    assert not owners.is_valid_layer_id('')
    assert not owners.is_valid_layer_id('a\x1fb')
    # Every layer key fits the 255 bytes a driver keeps for an owner.
    longest = owners.Owner(owners.PROJECT, 'é' * 32).key
    assert len(longest.encode('utf-8')) <= api_request.MAX_USER_ID_BYTES


def test_owners_name_themselves():
    assert str(owners.Owner(owners.PROJECT, 'p')) == 'project p'
    assert str(owners.Owner(owners.CLOUD, None)) == 'the cloud layer'
    assert str(owners.Owner(owners.USER, 'u')) == 'user u'
