"""OpenStackClient plugin: ``openstack preference ...``.

osc-lib loads this module through the ``openstack.cli.extension`` entry
point and calls :func:`make_client` the first time a command asks for
``client_manager.preference``.
"""

from osc_lib import exceptions
from osc_lib import utils

from cloudprefsclient import client

DEFAULT_API_VERSION = '1'
API_VERSION_OPTION = 'os_preference_api_version'
API_NAME = 'preference'
API_VERSIONS = {'1': 'cloudprefsclient.client.Client'}


def make_client(instance):
    """A :class:`cloudprefsclient.client.Client` on OSC's session, with
    the interface and region of the cloud's configuration and its
    ``preferences_endpoint_override``, if any."""
    version = instance._api_version[API_NAME]
    client_class = utils.get_client_class(
        API_NAME, version.split('.')[0], API_VERSIONS)
    return client_class(
        # "1": the newest microversion both sides have; "1.N": that one.
        api_version=None if version == DEFAULT_API_VERSION else version,
        session=instance.session,
        interface=instance.interface,
        region_name=instance.region_name,
        endpoint_override=instance._cli_options.get_endpoint(
            client.SERVICE_TYPE))


def check_api_version(check_version):
    """OSC's hook: accept "1" (negotiate) or a microversion this client
    knows ("1.1"); True, so that OSC does not check the major version
    list itself."""
    if check_version == DEFAULT_API_VERSION or \
            check_version in client.API_MICROVERSIONS:
        return True
    raise exceptions.CommandError(
        '--os-preference-api-version %s: this client knows %s, and "1" for '
        'the newest the service has.' % (
            check_version, ', '.join(client.API_MICROVERSIONS)))


def build_option_parser(parser):
    parser.add_argument(
        '--os-preference-api-version',
        metavar='<preference-api-version>',
        default=utils.env('OS_PREFERENCE_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='Preferences API version: 1 (default: the newest microversion '
             'both sides have) or a microversion such as 1.1 '
             '(Env: OS_PREFERENCE_API_VERSION)')
    return parser
