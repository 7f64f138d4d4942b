"""The connection to Elasticsearch or OpenSearch, shared by sources, sinks and setup."""
