"""Writing the graphs: GEXF and GraphML (Gephi), CSV, JSON node-link, Parquet, PNG, HTML.

Every file is written atomically (`spacy_bilstm.io`): a reader never sees
half a file, and a killed run leaves the previous output in place.

What each format does with values that are not plain text:

* GEXF and GraphML (XML): <, &, quotes are escaped by the XML writer.
  Characters that XML 1.0 forbids (control characters other than tab and
  line breaks, lone surrogates, U+FFFE/U+FFFF) cannot be escaped, so they
  are removed from every string and counted (``xml_chars_removed`` in the
  report). List attributes (aliases, doc ids, dates, evidence) are stored
  as JSON in a string attribute, since neither format has lists.
* CSV (``NAME.nodes.csv``, ``NAME.edges.csv``): UTF-8, a header row, fields
  quoted where needed (RFC 4180, via `csv`). A text cell that a spreadsheet
  would run as a formula (first character ``=``, ``+``, ``-``, ``@``, tab or
  carriage return) gets a leading apostrophe: "=HYPERLINK(…)" is written
  "'=HYPERLINK(…)". Numbers are written as numbers. Lists are JSON arrays.
* JSON node-link (``NAME.json``): `networkx.node_link_data` with
  ``edges="edges"``; lists stay lists; any string is valid JSON.
* Parquet (``NAME.parquet/`` with ``nodes.parquet`` and ``edges.parquet``):
  typed columns, lists as list columns; needs pyarrow.
* PNG: the `max_nodes` actors with most mentions; node size by mentions,
  colour by entity label, names of the `top_labels` most mentioned.
* HTML (``NAME.html``): one self-contained interactive page (pyvis), with
  search and each edge's evidence; see `spacy_bilstm.network.html`. Names
  and sentences are shown as text, never run as markup. Needs the ``html``
  extra.
"""

import csv
import json
import math
import re
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import networkx as nx

from ..errors import InputError
from ..io import atomic_directory, atomic_open, atomic_path

FORMATS = ("gexf", "graphml", "csv", "json", "parquet", "png", "html")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PLAIN = (int, float, bool)


def clean_xml(text: str) -> Tuple[str, int]:
    """Remove the characters XML 1.0 cannot represent.

    text (str): Any string.
    RETURNS (Tuple[str, int]): The string and how many characters were removed.
    """
    cleaned, removed = _XML_ILLEGAL.subn("", text)
    return cleaned, removed


def neutralise_cell(value: str) -> str:
    """Make a text cell safe to open in a spreadsheet (see the module docstring)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _flat(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return ""
    return value


def xml_ready(graph: nx.Graph) -> Tuple[nx.Graph, int]:
    """A copy of `graph` that GEXF and GraphML writers turn into valid XML.

    graph (nx.Graph): A graph from `build_network`.
    RETURNS (Tuple[nx.Graph, int]): The copy and the characters removed.
    """
    removed = 0

    def clean(value: Any) -> Any:
        nonlocal removed
        value = _flat(value)
        if isinstance(value, str):
            value, n = clean_xml(value)
            removed += n
        return value

    ready = graph.__class__()
    ids = {}
    for node, data in graph.nodes(data=True):
        ids[node] = clean(node)
        ready.add_node(ids[node], **{key: clean(value) for key, value in data.items()})
    for u, v, data in graph.edges(data=True):
        ready.add_edge(ids[u], ids[v], **{key: clean(value) for key, value in data.items()})
    if ready.number_of_nodes() != graph.number_of_nodes():
        raise InputError("two node names differ only by characters XML cannot hold")
    return ready, removed


def write_gexf(graph: nx.Graph, path: Union[str, Path]) -> int:
    """Write GEXF 1.2 for Gephi; return the XML-illegal characters removed."""
    ready, removed = xml_ready(graph)
    with atomic_path(path) as tmp:
        nx.write_gexf(ready, tmp)
    return removed


def write_graphml(graph: nx.Graph, path: Union[str, Path]) -> int:
    """Write GraphML; return the XML-illegal characters removed."""
    ready, removed = xml_ready(graph)
    with atomic_path(path) as tmp:
        nx.write_graphml(ready, tmp)
    return removed


def _columns(rows: Iterable[Dict[str, Any]], first: Sequence[str]) -> List[str]:
    seen = {key for row in rows for key in row}
    return list(first) + sorted(seen - set(first))


def _csv_cell(value: Any) -> Any:
    value = _flat(value)
    if isinstance(value, _PLAIN):
        return value
    return neutralise_cell(str(value))


def write_csv(graph: nx.Graph, nodes_path: Union[str, Path], edges_path: Union[str, Path]) -> None:
    """Write the node list and the edge list as CSV (see the module docstring).

    graph (nx.Graph): The graph.
    nodes_path (Union[str, Path]): Columns ``id`` and every node attribute.
    edges_path (Union[str, Path]): Columns ``source``, ``target`` and every edge attribute.
    """
    nodes = [{"id": node, **data} for node, data in graph.nodes(data=True)]
    edges = [{"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)]
    for path, rows, first in ((nodes_path, nodes, ["id"]), (edges_path, edges, ["source", "target"])):
        columns = _columns(rows, first)
        with atomic_open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_cell(row.get(column, "")) for column in columns])


def write_json(graph: nx.Graph, path: Union[str, Path]) -> None:
    """Write JSON node-link data (`networkx.node_link_data`, ``edges="edges"``)."""
    data = nx.node_link_data(graph, edges="edges")
    with atomic_open(path, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)


def write_parquet(graph: nx.Graph, directory: Union[str, Path]) -> None:
    """Write ``nodes.parquet`` and ``edges.parquet`` into `directory`, atomically.

    RAISES (InputError): If pyarrow is not installed.
    """
    from ..optional import require

    pa = require("pyarrow", extra="ray", purpose="Parquet output")
    pq = require("pyarrow.parquet", extra="ray", purpose="Parquet output")
    nodes = [{"id": node, **data} for node, data in graph.nodes(data=True)]
    edges = [{"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)]
    with atomic_directory(directory) as tmp:
        for name, rows, first in (("nodes", nodes, ["id"]), ("edges", edges, ["source", "target"])):
            columns = _columns(rows, first)
            table = pa.table({column: [row.get(column) for row in rows] for column in columns})
            pq.write_table(table, tmp / f"{name}.parquet")


def plot_png(
    graph: nx.Graph,
    path: Union[str, Path],
    top_labels: int = 20,
    max_nodes: int = 300,
    title: Optional[str] = None,
) -> None:
    """Draw the graph (see the module docstring) and save it as PNG.

    graph (nx.Graph): The co-mention graph.
    path (Union[str, Path]): The PNG file.
    top_labels (int): How many of the most mentioned actors get their name drawn.
    max_nodes (int): Draw at most this many actors (those with most mentions).
    title (Optional[str]): A title above the plot.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranked = sorted(graph.nodes(data=True), key=lambda item: (-item[1].get("mentions", 0), item[0]))
    shown = [node for node, _ in ranked[:max_nodes]]
    sub = graph.subgraph(shown)
    fig, ax = plt.subplots(figsize=(12, 10), dpi=100)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if sub.number_of_nodes():
        layout = nx.spring_layout(sub, seed=0, weight="weight")
        labels = sorted({data.get("entity_label", "") for _, data in sub.nodes(data=True)})
        cmap = plt.get_cmap("tab20" if len(labels) > 10 else "tab10")
        colour = {label: cmap(i % cmap.N) for i, label in enumerate(labels)}
        most = max(data.get("mentions", 1) for _, data in sub.nodes(data=True)) or 1
        sizes = [30 + 900 * math.sqrt(sub.nodes[n].get("mentions", 0) / most) for n in sub.nodes]
        heaviest = max((d.get("weight", 1) for _, _, d in sub.edges(data=True)), default=1)
        widths = [0.3 + 3 * d.get("weight", 1) / heaviest for _, _, d in sub.edges(data=True)]
        nx.draw_networkx_edges(sub, layout, ax=ax, width=widths, alpha=0.3, edge_color="#555555")
        nx.draw_networkx_nodes(
            sub,
            layout,
            ax=ax,
            node_size=sizes,
            node_color=[colour[sub.nodes[n].get("entity_label", "")] for n in sub.nodes],
            linewidths=0.5,
            edgecolors="white",
        )
        # "$" would start matplotlib's mathtext.
        names = {node: node.replace("$", r"\$") for node in shown[:top_labels]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # glyphs missing from the default font
            nx.draw_networkx_labels(sub, layout, labels=names, ax=ax, font_size=9)
        for label in labels:
            ax.scatter([], [], color=colour[label], label=label or "(none)")
        ax.legend(loc="lower left", frameon=False, title="entity label")
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def output_paths(out: Union[str, Path], formats: Iterable[str], suffix: str = "") -> Dict[str, List[Path]]:
    """The files each format writes, from the ``--out`` path.

    out (Union[str, Path]): E.g. ``results/graph.gexf``; its stem names every file.
    formats (Iterable[str]): Some of `FORMATS`.
    suffix (str): Added to the stem (``".speakers"`` for the speaker graph).
    RETURNS (Dict[str, List[Path]]): format → its paths.
    """
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower().lstrip(".") in FORMATS else out
    base = stem.parent / (stem.name + suffix)
    paths = {
        "gexf": [base.with_name(base.name + ".gexf")],
        "graphml": [base.with_name(base.name + ".graphml")],
        "csv": [base.with_name(base.name + ".nodes.csv"), base.with_name(base.name + ".edges.csv")],
        "json": [base.with_name(base.name + ".json")],
        "parquet": [base.with_name(base.name + ".parquet")],
        "png": [base.with_name(base.name + ".png")],
        "html": [base.with_name(base.name + ".html")],
    }
    return {fmt: paths[fmt] for fmt in formats}


def write_graph(
    graph: nx.Graph,
    out: Union[str, Path],
    formats: Iterable[str],
    suffix: str = "",
    top_labels: int = 20,
    max_plot_nodes: int = 300,
) -> Tuple[List[Path], int]:
    """Write one graph in the given formats.

    graph (nx.Graph): The graph.
    out (Union[str, Path]): The ``--out`` path (see `output_paths`).
    formats (Iterable[str]): Some of `FORMATS`.
    suffix (str): Added to the file stem.
    top_labels (int): For the PNG.
    max_plot_nodes (int): For the PNG.
    RETURNS (Tuple[List[Path], int]): The files written, and the XML-illegal
        characters removed (the larger count of GEXF and GraphML: they hold
        the same strings).
    """
    written: List[Path] = []
    removed = 0
    for fmt, paths in output_paths(out, formats, suffix).items():
        if fmt == "gexf":
            removed = max(removed, write_gexf(graph, paths[0]))
        elif fmt == "graphml":
            removed = max(removed, write_graphml(graph, paths[0]))
        elif fmt == "csv":
            write_csv(graph, paths[0], paths[1])
        elif fmt == "json":
            write_json(graph, paths[0])
        elif fmt == "parquet":
            write_parquet(graph, paths[0])
        elif fmt == "png":
            plot_png(graph, paths[0], top_labels=top_labels, max_nodes=max_plot_nodes)
        elif fmt == "html":
            from .html import write_html

            write_html(graph, paths[0])
        written.extend(paths)
    return written, removed


def write_report(report: Dict[str, Any], path: Union[str, Path]) -> None:
    """Write the run's report (statistics, record counts, files) as JSON."""
    with atomic_open(path, "w") as f:
        json.dump(report, f, ensure_ascii=False, indent=1, sort_keys=True)
