"""Actor networks from processed Docs: extraction, alias resolution, graphs, exports.

    from spacy_bilstm.network import ExtractOptions, Window, extract_network, build_network
    network = build_network(extract_network(nlp.pipe(texts), ExtractOptions(window=Window("sentence"))))
    network.graph        # networkx.Graph of co-mentioned actors
    network.speakers     # networkx.DiGraph speaker → actor (if Docs have speakers)

Backends for whole corpora (`local_backend.run_jsonl`, `ray_backend.run_ray`)
and the `network` command build on the same pure functions. Ray is imported
only by `ray_backend`.
"""

from .aggregate import Aggregate, extract_network
from .aliases import AliasTable, canonical_map, normalize_name, resolve_in_doc
from .extract import (
    DocExtraction,
    ExtractOptions,
    Window,
    comention_windows,
    doc_mentions,
    doc_stance,
    extract_doc,
)
from .graph import Edge, GraphOptions, Network, build_network, comention_edges, summarize

__all__ = [
    "Aggregate",
    "AliasTable",
    "DocExtraction",
    "Edge",
    "ExtractOptions",
    "GraphOptions",
    "Network",
    "Window",
    "build_network",
    "canonical_map",
    "comention_edges",
    "comention_windows",
    "doc_mentions",
    "doc_stance",
    "extract_doc",
    "extract_network",
    "normalize_name",
    "resolve_in_doc",
    "summarize",
]
