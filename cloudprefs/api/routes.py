"""The route table of /v1: every URL template and its handlers.

Templates are matched against the raw (percent-encoded) path; the
application decodes ``container`` and each segment of ``key_path``
itself, so that ``%2F`` stays inside a name. Every GET route also answers
HEAD with the GET handler (the application drops the body).
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
        'PUT': containers.replace_container,
        'PATCH': containers.patch_container,
        'DELETE': containers.delete_container,
    },
    '/{container}/*key_path': {
        'GET': containers.get_value,
        'POST': containers.set_value,
        'PATCH': containers.patch_value,
        'DELETE': containers.delete_value,
    },
}


def allowed_methods(methods):
    """The methods a route answers: its table entry, plus HEAD for GET."""
    allowed = set(methods)
    if 'GET' in allowed:
        allowed.add('HEAD')
    return sorted(allowed)


def make_map(declarations=ROUTE_DECLARATIONS):
    """Build a Routes mapper; a match's ``routepath`` is the table key."""
    mapper = routes.Mapper()
    mapper.minimization = False
    mapper.explicit = True
    for template in declarations:
        mapper.connect(template)
    return mapper
