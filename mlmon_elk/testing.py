"""Helpers for testing against OpenSearch-compatible servers (not for production).

The official ``elasticsearch`` client sends ``application/vnd.elasticsearch+json;
compatible-with=8`` media types, which OpenSearch-compatible servers such as
``osmem-server`` reject. :class:`PlainJsonNode` rewrites them to plain JSON so
the real client can talk to such a server in tests and benchmarks::

    Elasticsearch(url, node_class=PlainJsonNode)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport.client_utils import DEFAULT, DefaultType

if TYPE_CHECKING:
    from elastic_transport._node._base import NodeApiResponse


class PlainJsonNode(Urllib3HttpNode):
    """A urllib3 node that sends ``application/json`` / ``application/x-ndjson``."""

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
                    plain = "ndjson" in headers[name]
                    headers[name] = "application/x-ndjson" if plain else "application/json"
        return super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )
