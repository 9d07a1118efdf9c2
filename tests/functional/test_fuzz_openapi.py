"""Fuzzing /v1 from its OpenAPI document with schemathesis (pinned), on
the embedded SQLite database and on MongoDB.

Every operation gets positive and negative examples; every response must
be below 500 and conform to the document (status code, content type,
headers, body schema). CLOUDPREFS_FUZZ_EXAMPLES sets the examples per
operation and mode (default 20); the total is printed.
"""

import os
import uuid

import hypothesis
import pytest
import schemathesis
from schemathesis import checks

from cloudprefs.api import openapi

EXAMPLES = int(os.environ.get('CLOUDPREFS_FUZZ_EXAMPLES', '20'))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance,
          checks.response_headers_conformance,
          checks.response_schema_conformance]


@pytest.fixture(scope='module', params=['sqlite', 'mongodb'])
def backend(request):
    return request.param


def test_fuzz_every_operation(api):
    schema = schemathesis.openapi.from_dict(openapi.load_document())
    headers = {'X-User-Id': 'fuzz-' + uuid.uuid4().hex}
    counts = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (schemathesis.GenerationMode.POSITIVE,
                     schemathesis.GenerationMode.NEGATIVE):

            @hypothesis.settings(
                max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.generate])
            @hypothesis.given(operation.as_strategy(generation_mode=mode))
            def call(case):
                response = case.call(base_url=api.base_url, headers=headers,
                                     timeout=30)
                counts[operation.label] = counts.get(operation.label, 0) + 1
                case.validate_response(response, checks=CHECKS)

            call()
    total = sum(counts.values())
    print('schemathesis: %d requests over %d operations'
          % (total, len(counts)))
    operations = 14     # every method of every path, HEAD included
    assert len(counts) == operations
    assert total >= operations * EXAMPLES
