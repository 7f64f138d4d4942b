"""The ``elasticsearch`` client's transport node, made to speak to OpenSearch 2.x.

The 8.x client rewrites ``Accept`` and ``Content-Type`` to
``application/vnd.elasticsearch+json; compatible-with=8`` (OpenSearch answers 406)
and, on its first successful answer, requires ``X-Elastic-Product: Elasticsearch``
(OpenSearch never sends it). Headers passed by the caller cannot undo either, so
the fix sits in the node. Kept apart from :mod:`mlmon_elk.engine.client` because it
imports ``elastic_transport`` at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport.client_utils import DEFAULT, DefaultType

if TYPE_CHECKING:
    from elastic_transport._node._base import NodeApiResponse


class OpenSearchNode(Urllib3HttpNode):
    """A urllib3 node for OpenSearch: plain JSON media types, and the product header it lacks."""

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    ndjson = "ndjson" in headers[name]
                    headers[name] = "application/x-ndjson" if ndjson else "application/json"
        response = super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )
        # The client checks this header on its first 2xx answer; OpenSearch never sends it.
        response.meta.headers.setdefault("x-elastic-product", "Elasticsearch")
        return response


def opensearch_node_class(base: type[Urllib3HttpNode] | None) -> type[Urllib3HttpNode]:
    """``OpenSearchNode``, or ``base`` with its behaviour added (``base`` may observe requests)."""
    if base is None or issubclass(base, OpenSearchNode):
        return OpenSearchNode
    return type(f"OpenSearch{base.__name__}", (OpenSearchNode, base), {})
