"""The Elastic stack assets and ``mlmon-elk setup``.

Pure builders (request bodies, saved objects, rules):

* ``templates`` — index templates, retention (ILM), the mapping resolver;
* ``lens`` and ``dashboards`` — data views and dashboards;
* ``rules`` — alert rules and connectors;
* ``kibana_assets`` — the files under ``kibana_dashboards/`` (generate, read).

I/O at the edges:

* ``install`` — Elasticsearch templates and policies, compared by content hash;
* ``kibana`` — a minimal Kibana HTTP client; ``kibana_sync`` — saved objects,
  connectors and rules compared and written;
* ``setup`` — readiness, order, dry run, the report.
"""
