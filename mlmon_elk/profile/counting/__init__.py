"""How a window is counted, one spec per kind of count (pure).

Each module holds, side by side, everything that counts one kind of thing:

* its Elasticsearch aggregations (the request part) and the parser reading them
  back, tied by aggregation names defined once in that module;
* its counterpart on values (arrays, pandas Series), used by the DataFrame path
  (:mod:`mlmon_elk.profile.frame`) and on decoded documents by the record
  counter (:mod:`mlmon_elk.profile.records`);
* how chunk counts merge, where documents are counted a chunk at a time.

Modules: :mod:`.presence` (present / null / typed kinds), :mod:`.numeric`,
:mod:`.categorical` (including integer-coded categories), :mod:`.text`,
:mod:`.operational` (failures, latency, history), :mod:`.performance`
(outcomes and scores); :mod:`.documents` reads values out of decoded documents
the way the index does, and :mod:`.aggregation` holds what every spec shares.
:mod:`mlmon_elk.profile.engine_plan` assembles the specs into search requests.
"""
