"""Key paths: the URL of a container or of a value inside it.

A path is given either as a list of keys (any strings) or as text
``a/b/c``, in which ``/`` separates keys and each key is percent-decoded,
so that a key containing a slash is written ``%2F`` (and ``%`` itself
``%25``), as on the wire.
"""

import urllib.parse


def split(path):
    """The keys of ``path`` (text or a sequence of keys), as a list."""
    if path is None:
        return []
    if isinstance(path, str):
        text = path[:-1] if path.endswith('/') else path
        if not text:
            raise ValueError('A key path needs at least one key.')
        keys = [urllib.parse.unquote(part, errors='strict')
                for part in text.split('/')]
    else:
        keys = list(path)
    for key in keys:
        if not isinstance(key, str) or not key or key in ('.', '..'):
            # "." and ".." would be removed from the URL on the way
            # (RFC 3986 dot segments), so they cannot name a key.
            raise ValueError('Every key of a path must be a non-empty '
                             'string other than "." and "..": %r'
                             % (path,))
    return keys


def url(container=None, path=None):
    """The URL of ``container`` (or of the key ``path`` inside it),
    relative to the API's versioned endpoint; ``''`` for the list."""
    if container is None:
        return ''
    if not isinstance(container, str) or container in ('', '.', '..'):
        raise ValueError('A container name must be a non-empty string '
                         'other than "." and "..".')
    parts = [container] + split(path)
    return '/' + '/'.join(urllib.parse.quote(part, safe='')
                          for part in parts)
