"""OpenStackClient plugin: ``openstack preference ...``.

osc-lib loads this module through the ``openstack.cli.extension`` entry
point and calls :func:`make_client` the first time a command asks for
``client_manager.preference``.
"""

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
    client_class = utils.get_client_class(
        API_NAME, instance._api_version[API_NAME], API_VERSIONS)
    return client_class(
        session=instance.session,
        interface=instance.interface,
        region_name=instance.region_name,
        endpoint_override=instance._cli_options.get_endpoint(
            client.SERVICE_TYPE))


def build_option_parser(parser):
    parser.add_argument(
        '--os-preference-api-version',
        metavar='<preference-api-version>',
        default=utils.env('OS_PREFERENCE_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='Preferences API version, default=%s '
             '(Env: OS_PREFERENCE_API_VERSION)' % DEFAULT_API_VERSION)
    return parser
