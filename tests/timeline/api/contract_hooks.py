"""schemathesis hooks for the contract run (`SCHEMATHESIS_HOOKS`): what the document says in prose, told to
the generator.

Cursors are opaque tokens the server issued. One generated to fit the schema is well-formed but was never
issued, and is rightly refused (400); so a query generated as valid gets a cursor the server did issue
(`TIMELINE_TEST_CURSOR`) in place of each generated one, and never both `before` and `after`, which the
document describes as exclusive but OpenAPI cannot express for query parameters. Queries generated as
invalid keep what was generated.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.core.parameters import ParameterLocation

CURSOR = os.environ.get("TIMELINE_TEST_CURSOR", "")


@schemathesis.hook
def map_case(context: Any, case: Case[Any]) -> Case[Any]:
    query = case.query
    if not query or not _valid_query(case):
        return case
    if isinstance(query.get("before"), str) and isinstance(query.get("after"), str):
        del query["before"]
    for name in ("before", "after"):
        if isinstance(query.get(name), str):
            query[name] = CURSOR
    return case


def _valid_query(case: Case[Any]) -> bool:
    if case.meta is None:
        return True
    component = case.meta.components.get(ParameterLocation.QUERY)
    return component is None or component.mode == GenerationMode.POSITIVE
