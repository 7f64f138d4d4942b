"""Where the analyzer's documents come from: JSON-lines files or Elasticsearch (I/O only).

:mod:`.files` lists, opens and decodes the handler's files a chunk at a time;
:mod:`.file_span` reads the period they cover cheaply; :mod:`.elasticsearch`
sends searches and returns their responses. What the searches ask for and how
documents or responses are counted belongs to :mod:`mlmon_elk.profile`; the
two meet in :mod:`mlmon_elk.analyzer.fetch`.
"""
