"""From an `Aggregate` to networkx graphs, and their summary statistics.

`build_network` canonicalises actor names over the whole corpus (see
`aliases.py`), then builds

* the co-mention graph, an undirected `nx.Graph` whose node ids are actor
  names. Node attributes: ``entity_label`` (the most frequent label; ties
  alphabetical), ``mentions``, ``aliases`` (texts written for the actor, most
  frequent first) and, from `summarize`, ``degree``, ``weighted_degree``,
  ``betweenness`` and ``community``. Edge attributes: ``weight`` (windows in
  which both occur), ``n_docs``, ``doc_ids`` and ``dates`` (sorted lists),
  ``first_date`` and ``last_date``, and ``evidence``: up to
  `ExtractOptions.evidence` snippets where both are mentioned, each a dict
  with ``doc_id``, ``char`` (its first character in the document), ``date``,
  ``speaker`` and ``text``, in the stable order of `evidence_rank`;
* where Docs have speakers, the speaker graph, a directed bipartite
  `nx.DiGraph` from ``speaker:NAME`` nodes (``bipartite=0``) to
  ``actor:NAME`` nodes (``bipartite=1``); each node's ``label`` is the name.
  Edge attributes: ``weight`` (documents in which the speaker mentions the
  actor), ``mentions``, ``stance`` (the sum of the documents' stance scores),
  ``stance_n`` (documents with a score), ``stance_mean`` (0 when none) and
  ``sign`` (−1, 0 or 1), ``n_docs``, ``doc_ids``, ``dates``, ``first_date``
  and ``last_date`` as above, and ``evidence``: up to
  `ExtractOptions.evidence` sentences of the speaker's documents that
  mention the actor, as dicts of the same form, in the same order.

Nodes and edges are inserted in sorted order, so graphs built from equal
aggregates are equal in every attribute, statistics included.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import groupby
from sys import intern
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple

import networkx as nx
from spacy.tokens import Doc

from .aggregate import Aggregate, Snippet, extract_network
from .aliases import canonical_map, display_name, dominant
from .extract import KEY_SEPARATOR, ExtractOptions

SPEAKER_PREFIX = "speaker:"
ACTOR_PREFIX = "actor:"
# Above this many nodes, betweenness is estimated from a fixed sample of
# sources (exact betweenness is O(nodes × edges)).
EXACT_BETWEENNESS_MAX_NODES = 2000
BETWEENNESS_SAMPLES = 500
TOP_N = 10
_RESERVED_NODE_ATTRS = {"label", "name", "role", "bipartite", "documents", "entity_label", "mentions"}


@dataclass(frozen=True)
class GraphOptions:
    """Filters applied when the graph is built (they may change on resume).

    min_count (int): Drop co-mention edges seen in fewer windows (and speaker
        edges seen in fewer documents).
    min_mentions (int): Drop actors with fewer mentions (with their edges).
    """

    min_count: int = 1
    min_mentions: int = 1


class Edge(NamedTuple):
    """One co-mention edge; `source` < `target`.

    source (str): An actor.
    target (str): Another actor.
    weight (int): The number of windows in which both are mentioned.
    doc_ids (Tuple[str, ...]): The documents those windows are in, sorted.
    dates (Tuple[str, ...]): Their distinct dates, sorted.
    """

    source: str
    target: str
    weight: int
    doc_ids: Tuple[str, ...]
    dates: Tuple[str, ...]


@dataclass
class Network:
    """The graphs built from one corpus.

    graph (nx.Graph): The co-mention graph.
    speakers (Optional[nx.DiGraph]): The speaker → actor graph, if any Doc had a speaker.
    canonical (Dict[str, str]): Every resolved key → the actor name it became.
    stats (Counter): The extraction statistics (docs, entities, mentions, …).
    summary (Dict[str, Any]): `summarize` of the co-mention graph.
    speaker_summary (Optional[Dict[str, Any]]): `summarize` of the speaker graph.
    """

    graph: nx.Graph
    speakers: Optional[nx.DiGraph]
    canonical: Dict[str, str]
    stats: Counter
    summary: Dict[str, Any]
    speaker_summary: Optional[Dict[str, Any]] = None

    def edges(self) -> List[Edge]:
        """The co-mention edges, sorted."""
        return sorted(
            Edge(u, v, d["weight"], tuple(d["doc_ids"]), tuple(d["dates"]))
            for u, v, d in ((min(a, b), max(a, b), data) for a, b, data in self.graph.edges(data=True))
        )


def _documents(docs: List[str], dates: set) -> Dict[str, Any]:
    # The ids come sorted and distinct (the rows are read in document order,
    # so a list suffices: a set per edge would take several times the memory).
    # Dates are a set, not a map id → date: ids given by users may repeat with
    # different dates, and a map would keep whichever came last.
    dates = sorted(date for date in dates if date)
    return {
        "n_docs": len(docs),
        "doc_ids": docs,
        "dates": dates,
        "first_date": dates[0] if dates else "",
        "last_date": dates[-1] if dates else "",
    }


def _snippets(found: Iterable[Snippet], limit: int) -> List[Dict[str, Any]]:
    # The `limit` smallest distinct snippets, as the dicts the exports write.
    kept = []
    for _, info, text in sorted(set(found))[:limit]:
        doc_id, char, date, speaker = json.loads(info)
        kept.append({"doc_id": doc_id, "char": char, "date": date, "speaker": speaker, "text": text})
    return kept


def _unique_names(names: Dict[str, str]) -> Dict[str, str]:
    # Display names are unique by construction (each is a case variant of its
    # own key) except where an alias table writes a canonical name that
    # normalises differently; node ids must never merge, so those get the key.
    seen = Counter(names.values())
    return {key: name if seen[name] == 1 else f"{name} [{key}]" for key, name in names.items()}


def build_network(
    aggregate: Aggregate,
    options: Optional[ExtractOptions] = None,
    graph_options: Optional[GraphOptions] = None,
) -> Network:
    """Canonicalise names across the corpus and build the graphs.

    aggregate (Aggregate): The summed extractions.
    options (Optional[ExtractOptions]): The options they were extracted with
        (for the alias table and person labels).
    graph_options (Optional[GraphOptions]): Minimum counts.
    RETURNS (Network): The graphs, with `summarize` applied to both.
    """
    options = options if options is not None else ExtractOptions()
    graph_options = graph_options if graph_options is not None else GraphOptions()
    key_counts: Counter = Counter()
    key_labels: Dict[str, Counter] = defaultdict(Counter)
    for (key, _, label), count in aggregate.mentions.items():
        key_counts[key] += count
        key_labels[key][label] += count
    to_canonical = canonical_map(key_counts, key_labels, options.aliases, options.person_labels)

    mentions: Counter = Counter()
    labels: Dict[str, Counter] = defaultdict(Counter)
    written: Dict[str, Counter] = defaultdict(Counter)
    for (key, raw, label), count in aggregate.mentions.items():
        target = to_canonical[key]
        mentions[target] += count
        labels[target][label] += count
        written[target][raw] += count
    names = _unique_names({key: display_name(key, written[key], options.aliases) for key in mentions})
    kept = {key for key, count in mentions.items() if count >= graph_options.min_mentions}

    weights: Counter = Counter()
    documents: Dict[Tuple[str, str], Tuple[List[str], set]] = defaultdict(lambda: ([], set()))
    last = ""
    for (joined, doc_id, date), count in aggregate.window_items():
        keys = sorted({to_canonical[key] for key in joined.split(KEY_SEPARATOR)} & kept)
        # Rows read from disk bring new strings: share one per document (the
        # rows come in document order) and per date among the edges' lists.
        last = doc_id = last if doc_id == last else doc_id
        date = intern(date)
        for i, first in enumerate(keys):
            for second in keys[i + 1 :]:
                weights[first, second] += count
                docs, dates = documents[first, second]
                if not docs or docs[-1] != doc_id:
                    docs.append(doc_id)
                dates.add(date)

    snippets: Dict[Tuple[str, str], List[Snippet]] = defaultdict(list)
    if options.evidence:
        for joined, found in aggregate.evidence.items():
            first, second = (to_canonical[key] for key in joined.split(KEY_SEPARATOR))
            if first != second and first in kept and second in kept:
                snippets[min(first, second), max(first, second)].extend(found)

    graph = nx.Graph()
    for key in sorted(kept, key=lambda k: names[k]):
        graph.add_node(
            names[key],
            entity_label=dominant(labels[key]),
            mentions=mentions[key],
            aliases=[raw for raw, _ in sorted(written[key].items(), key=lambda item: (-item[1], item[0]))],
        )
    edges = []
    for (first, second), weight in weights.items():
        # Popped: each pair's date set is freed once its edge has its lists,
        # before the speaker graph makes its own.
        docs, dates = documents.pop((first, second))
        if weight >= graph_options.min_count:
            source, target = sorted((names[first], names[second]))
            attrs = {"weight": weight, **_documents(docs, dates)}
            if options.evidence:
                attrs["evidence"] = _snippets(snippets.get((first, second), ()), options.evidence)
            edges.append((source, target, attrs))
    graph.add_edges_from(sorted(edges, key=lambda edge: (edge[0], edge[1])))
    summary = summarize(graph)

    speakers = _speaker_graph(
        aggregate, to_canonical, names, kept, labels, mentions, graph_options, options.evidence
    )
    canonical = {key: names[target] for key, target in to_canonical.items()}
    return Network(
        graph=graph,
        speakers=speakers,
        canonical=canonical,
        stats=Counter(aggregate.stats),
        summary=summary,
        speaker_summary=summarize(speakers) if speakers is not None else None,
    )


def _speaker_graph(
    aggregate: Aggregate,
    to_canonical: Dict[str, str],
    names: Dict[str, str],
    kept: set,
    labels: Dict[str, Counter],
    mentions: Counter,
    graph_options: GraphOptions,
    evidence: int = 0,
) -> Optional[nx.DiGraph]:
    if not aggregate.speaker_names:
        return None
    speaker_written: Dict[str, Counter] = defaultdict(Counter)
    for (key, raw), count in aggregate.speaker_names.items():
        speaker_written[to_canonical.get(key, key)][raw] += count
    speaker_names = {
        key: names[key] if key in names else display_name(key, written)
        for key, written in speaker_written.items()
    }
    # The said rows come one document (id, date) at a time, so only one
    # document's records are held; each edge adds its documents' stances in
    # (id, date) order, the same order whether the rows were on disk or not.
    edges: Dict[Tuple[str, str], Dict[str, Any]] = {}
    last = ""
    for (doc_id, date), rows in groupby(aggregate.said_items(), key=lambda item: item[0][2:]):
        # One string per document and per date, as for the co-mention edges.
        last = doc_id = last if doc_id == last else doc_id
        date = intern(date)
        # One record per (speaker, actor) in the document: mentions add up;
        # the document's stance is the same for every key that became this
        # actor, so it is taken once (from the alphabetically first key).
        per_doc: Dict[Tuple[str, str], List] = {}
        for (speaker, actor, _, _), (count, stance, stance_n) in rows:
            target = to_canonical[actor]
            if target not in kept:
                continue
            key = (to_canonical.get(speaker, speaker), target)
            record = per_doc.get(key)
            if record is None:
                per_doc[key] = [count, stance, stance_n]
            else:
                record[0] += count
        for key, (count, stance, stance_n) in per_doc.items():
            edge = edges.get(key)
            if edge is None:
                edge = edges[key] = {"mentions": 0, "stance": 0.0, "stance_n": 0, "docs": [], "dates": set()}
            edge["mentions"] += count
            edge["stance"] += stance
            edge["stance_n"] += stance_n
            if not edge["docs"] or edge["docs"][-1] != doc_id:
                edge["docs"].append(doc_id)
            edge["dates"].add(date)

    # As for the co-mention edges: the snippets of every key that became
    # this (speaker, actor), merged, then cut to the `evidence` smallest.
    snippets: Dict[Tuple[str, str], List[Snippet]] = defaultdict(list)
    if evidence:
        for joined, found in aggregate.speaker_evidence.items():
            speaker, actor = joined.split(KEY_SEPARATOR)
            target = to_canonical[actor]
            if target in kept:
                snippets[to_canonical.get(speaker, speaker), target].extend(found)

    graph = nx.DiGraph()
    documents: Counter = Counter()
    for (key, _), count in aggregate.speaker_names.items():
        documents[to_canonical.get(key, key)] += count
    meta: Dict[str, Dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for (key, field, value), count in aggregate.speaker_meta.items():
        meta[to_canonical.get(key, key)][field][value] += count
    for key in sorted(speaker_names, key=lambda k: speaker_names[k]):
        attrs: Dict[str, Any] = {
            "label": speaker_names[key],
            "role": "speaker",
            "bipartite": 0,
            "documents": documents[key],
        }
        for field, values in sorted(meta[key].items()):
            attrs[field if field not in _RESERVED_NODE_ATTRS else f"meta_{field}"] = dominant(values)
        graph.add_node(SPEAKER_PREFIX + speaker_names[key], **attrs)
    actors = sorted({actor for _, actor in edges}, key=lambda k: names[k])
    for key in actors:
        graph.add_node(
            ACTOR_PREFIX + names[key],
            label=names[key],
            role="actor",
            bipartite=1,
            entity_label=dominant(labels[key]),
            mentions=mentions[key],
        )
    rows = []
    for (speaker, actor), edge in sorted(edges.items()):
        weight = len(edge["docs"])
        if weight < graph_options.min_count:
            continue
        mean = edge["stance"] / edge["stance_n"] if edge["stance_n"] else 0.0
        attrs = {
            "weight": weight,
            "mentions": edge["mentions"],
            "stance": edge["stance"],
            "stance_n": edge["stance_n"],
            "stance_mean": mean,
            "sign": (mean > 0) - (mean < 0),
            **_documents(edge["docs"], edge["dates"]),
        }
        if evidence:
            attrs["evidence"] = _snippets(snippets.get((speaker, actor), ()), evidence)
        rows.append((SPEAKER_PREFIX + speaker_names[speaker], ACTOR_PREFIX + names[actor], attrs))
    graph.add_edges_from(sorted(rows, key=lambda edge: (edge[0], edge[1])))
    return graph


def by_weighted_degree(graph: nx.Graph) -> List[Any]:
    """The nodes, highest weighted degree (sum of edge weights) first, ties
    by name: the one order in which the picture, the page and the summary
    pick their top actors.

    graph (nx.Graph): Any graph with ``weight`` on its edges.
    RETURNS (List[Any]): Its nodes, in that order.
    """
    weighted = dict(graph.degree(weight="weight"))
    return sorted(graph.nodes, key=lambda node: (-weighted[node], str(node)))


def summarize(graph: nx.Graph, top_n: int = TOP_N) -> Dict[str, Any]:
    """Compute degree, weighted degree, betweenness and communities.

    Sets the node attributes ``degree``, ``weighted_degree``, ``betweenness``
    and ``community`` (0 is the largest; ties by first member) and returns a
    summary. Betweenness is exact up to `EXACT_BETWEENNESS_MAX_NODES` nodes,
    then estimated from `BETWEENNESS_SAMPLES` sources (seed 0). Communities
    are Louvain (seed 0) on the undirected, weighted graph. Both are
    deterministic for a given graph.

    graph (nx.Graph): A graph from `build_network` (directed or not).
    top_n (int): How many nodes to list per measure.
    RETURNS (Dict[str, Any]): Sizes, density, components, communities,
        modularity and the top nodes per measure.
    """
    n = graph.number_of_nodes()
    degree = dict(graph.degree())
    weighted = dict(graph.degree(weight="weight"))
    if n > EXACT_BETWEENNESS_MAX_NODES:
        betweenness = nx.betweenness_centrality(graph, k=BETWEENNESS_SAMPLES, seed=0)
        method = f"estimated from {BETWEENNESS_SAMPLES} sources (seed 0)"
    else:
        betweenness = nx.betweenness_centrality(graph)
        method = "exact"
    undirected = graph.to_undirected(as_view=True) if graph.is_directed() else graph
    if graph.number_of_edges():
        found = nx.community.louvain_communities(undirected, weight="weight", seed=0)
    else:
        found = [{node} for node in graph.nodes]
    communities = sorted((sorted(c) for c in found), key=lambda members: (-len(members), members[0]))
    for index, members in enumerate(communities):
        for node in members:
            graph.nodes[node]["community"] = index
    for node in graph.nodes:
        graph.nodes[node]["degree"] = degree[node]
        graph.nodes[node]["weighted_degree"] = weighted[node]
        graph.nodes[node]["betweenness"] = betweenness[node]
    modularity = (
        nx.community.modularity(undirected, communities, weight="weight") if graph.number_of_edges() else 0.0
    )

    def top(values: Dict[str, float]) -> List[Tuple[str, float]]:
        return sorted(values.items(), key=lambda item: (-item[1], item[0]))[:top_n]

    components = (
        (
            nx.number_weakly_connected_components(graph)
            if graph.is_directed()
            else nx.number_connected_components(graph)
        )
        if n
        else 0
    )
    return {
        "nodes": n,
        "edges": graph.number_of_edges(),
        "density": nx.density(graph) if n > 1 else 0.0,
        "components": components,
        "isolates": nx.number_of_isolates(graph),
        "communities": len(communities),
        "community_sizes": [len(members) for members in communities[:top_n]],
        "modularity": modularity,
        "betweenness": method,
        "top_degree": top(degree),
        "top_weighted_degree": top(weighted),
        "top_betweenness": top(betweenness),
        "top_mentions": top({node: data.get("mentions", 0) for node, data in graph.nodes(data=True)}),
    }


def comention_edges(
    docs: Iterable[Doc], options: Optional[ExtractOptions] = None, min_count: int = 1
) -> List[Edge]:
    """Docs in, sorted co-mention edges out (names canonicalised across the Docs).

    docs (Iterable[Doc]): Processed Docs.
    options (Optional[ExtractOptions]): What to extract.
    min_count (int): Drop edges seen in fewer windows.
    RETURNS (List[Edge]): The edges, sorted by (source, target).
    """
    network = build_network(extract_network(docs, options), options, GraphOptions(min_count=min_count))
    return network.edges()
