"""The route table of /v1: every URL template and its handlers.

Templates are matched against the raw (percent-encoded) path; the
application decodes ``container`` and each segment of ``key_path``
itself, so that ``%2F`` stays inside a name.
"""

import routes

from cloudprefs.api.handlers import containers

ROUTE_DECLARATIONS = {
    '/': {
        'GET': containers.list_containers,
        'DELETE': containers.delete_all_containers,
    },
    '/{container}': {
        'GET': containers.get_container,
        'POST': containers.create_or_merge_container,
        'DELETE': containers.delete_container,
    },
    '/{container}/*key_path': {
        'GET': containers.get_value,
        'POST': containers.set_value,
        'DELETE': containers.delete_value,
    },
}


def make_map(declarations=ROUTE_DECLARATIONS):
    """Build a Routes mapper; a match's ``routepath`` is the table key."""
    mapper = routes.Mapper()
    mapper.minimization = False
    mapper.explicit = True
    for template in declarations:
        mapper.connect(template)
    return mapper
