"""Install the index templates into Elasticsearch (the I/O side of ``templates``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlmon_elk.stack.templates import component_templates, index_templates

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


def install_templates(client: Elasticsearch, *, data_streams: bool = True) -> list[str]:
    """Put the component and index templates; returns the names written.

    Component templates go first because index templates refer to them.
    """
    written: list[str] = []
    for name, body in component_templates(data_streams=data_streams).items():
        client.cluster.put_component_template(name=name, **body)
        written.append(f"_component_template/{name}")
    for name, body in index_templates(data_streams=data_streams).items():
        client.indices.put_index_template(name=name, **body)
        written.append(f"_index_template/{name}")
    return written
