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
* PNG: the largest connected component (at most `max_nodes` actors, by
  weighted degree; the caption counts the rest); node size by mentions,
  colour by entity label, names of the `top_labels` actors with the highest
  weighted degree placed where they overlap nothing; legend outside.
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
from .graph import by_weighted_degree

FORMATS = ("gexf", "graphml", "csv", "json", "parquet", "png", "html")
# The optional modules a format needs: (module, extra that installs it, what
# needs it), checked before a run starts so that a missing extra is one line
# and not a failure after the whole extraction.
FORMAT_NEEDS: Dict[str, Tuple[Tuple[str, str, str], ...]] = {
    "parquet": (("pyarrow", "ray", "Parquet output"), ("pyarrow.parquet", "ray", "Parquet output")),
    "html": (("pyvis.network", "html", "--formats html"),),
}


def format_modules(name: str) -> Tuple[Any, ...]:
    """The optional modules one format needs, imported (see `FORMAT_NEEDS`).

    name (str): One of `FORMATS`.
    RETURNS (Tuple[Any, ...]): The modules, in `FORMAT_NEEDS` order.
    RAISES (InputError): One line naming the extra to install.
    """
    from ..optional import require

    return tuple(require(module, extra=extra, purpose=purpose) for module, extra, purpose in FORMAT_NEEDS.get(name, ()))


def require_formats(formats: Iterable[str]) -> None:
    """Import what the chosen formats need, or raise the one-line InputError
    that names the extra to install.

    formats (Iterable[str]): Some of `FORMATS`.
    """
    for name in formats:
        format_modules(name)


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
    pa, pq = format_modules("parquet")
    nodes = [{"id": node, **data} for node, data in graph.nodes(data=True)]
    edges = [{"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)]
    with atomic_directory(directory) as tmp:
        for name, rows, first in (("nodes", nodes, ["id"]), ("edges", edges, ["source", "target"])):
            columns = _columns(rows, first)
            table = pa.table({column: [row.get(column) for row in rows] for column in columns})
            pq.write_table(table, tmp / f"{name}.parquet")


def plot_selection(graph: nx.Graph, max_nodes: int = 300) -> Tuple[List[Any], str]:
    """The actors the PNG draws, and a caption saying what it leaves out.

    The largest connected component (weakly, for a directed graph; ties go
    to the heavier, then to the one whose first name sorts first); if it has
    more than `max_nodes` actors, the `max_nodes` of it with the highest
    weighted degree, then the largest component of those.

    graph (nx.Graph): A graph from `build_network`.
    max_nodes (int): Draw at most this many actors.
    RETURNS (Tuple[List[Any], str]): The nodes, and the caption.
    """
    n = graph.number_of_nodes()
    if not n:
        return [], "No actors."
    weighted = dict(graph.degree(weight="weight"))
    components = list(nx.weakly_connected_components(graph) if graph.is_directed() else nx.connected_components(graph))

    def rank(component: Any) -> Tuple[int, float, str]:
        return (-len(component), -sum(weighted[node] for node in component), min(str(node) for node in component))

    components.sort(key=rank)
    largest = components[0]
    shown = sorted(largest, key=lambda node: (-weighted[node], str(node)))
    cut = len(shown) > max_nodes
    if cut:
        top = graph.subgraph(shown[:max_nodes])
        parts = nx.weakly_connected_components(top) if graph.is_directed() else nx.connected_components(top)
        kept = min(parts, key=rank)
        shown = [node for node in shown if node in kept]
    caption = f"Drawn: {len(shown)} of {n} actors"
    if cut:
        caption += f" (those with the highest weighted degree in the largest connected component of {len(largest)})"
    else:
        caption += " (the largest connected component)"
    rest = components[1:]
    if rest:
        sizes = sorted((len(component) for component in rest), reverse=True)
        caption += (
            f". Not drawn: {sum(sizes)} actors in {len(rest)} other component{'s' if len(rest) > 1 else ''}"
            f" (largest {sizes[0]}, isolated actors {sizes.count(1)})"
        )
    return shown, caption + "."


def _place_labels(ax: Any, fig: Any, layout: Dict[Any, Any], names: Dict[Any, str], radii: Dict[Any, float]) -> None:
    # Each name goes to the first of a ring of positions around its node
    # (nearest first) where its box overlaps no name already placed and no
    # node drawn; most important names first. Names placed away from their
    # node get a thin leader line.
    renderer = fig.canvas.get_renderer()
    to_display = ax.transData.transform
    scale = fig.dpi / 72.0
    discs = [(*to_display(layout[node]), radii[node] * scale) for node in layout]
    placed: List[Tuple[float, float, float, float]] = []
    directions = [(1, 0), (-1, 0), (0, 1), (0, -1), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)]

    def overlap(box: Tuple[float, float, float, float]) -> float:
        x0, y0, x1, y1 = box
        total = 0.0
        for a0, b0, a1, b1 in placed:
            total += max(0.0, min(x1, a1) - max(x0, a0)) * max(0.0, min(y1, b1) - max(y0, b0))
        for cx, cy, r in discs:
            dx = max(x0 - cx, 0.0, cx - x1)
            dy = max(y0 - cy, 0.0, cy - y1)
            if dx * dx + dy * dy < r * r:
                total += r * r
        return total

    for node, name in names.items():
        text = ax.annotate(name, layout[node], fontsize=9, ha="center", va="center", zorder=4)
        extent = text.get_window_extent(renderer)
        width, height = extent.width + 4, extent.height + 2
        cx, cy = to_display(layout[node])
        best = None
        for distance in (1.0, 1.6, 2.6, 4.0):
            for dx, dy in directions:
                reach = radii[node] * scale + 3 + distance * (abs(dx) * width / 2 + abs(dy) * height / 2 + 2)
                x, y = cx + dx * reach, cy + dy * reach
                box = (x - width / 2, y - height / 2, x + width / 2, y + height / 2)
                cost = overlap(box)
                if best is None or cost < best[0]:
                    best = (cost, x, y, box, distance)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _, x, y, box, distance = best
        placed.append(box)
        text.remove()
        ax.annotate(
            name,
            xy=layout[node],
            xytext=((x - cx) / scale, (y - cy) / scale),
            textcoords="offset points",
            fontsize=9,
            ha="center",
            va="center",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
            arrowprops=(
                {"arrowstyle": "-", "color": "#666666", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 0}
                if distance > 1.0
                else None
            ),
        )


def plot_png(
    graph: nx.Graph,
    path: Union[str, Path],
    top_labels: int = 20,
    max_nodes: int = 300,
    title: Optional[str] = None,
) -> None:
    """Draw the graph and save it as PNG.

    What is drawn is `plot_selection`'s: the largest connected component (or
    its `max_nodes` actors with the highest weighted degree), with a caption
    counting the actors left out. The layout is a force layout with
    repulsion scaled to the number of nodes (networkx's spring layout, seed
    0, edge weights ignored so that heavy pairs do not pile up in the
    middle); node size by mentions, colour by entity label, edge width by
    weight; only the `top_labels` actors with the highest weighted degree are
    named, each where its name overlaps no other name and no node; the legend
    is outside the drawing.

    graph (nx.Graph): The co-mention graph.
    path (Union[str, Path]): The PNG file.
    top_labels (int): How many actors get their name drawn.
    max_nodes (int): Draw at most this many actors.
    title (Optional[str]): A title above the plot.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown, caption = plot_selection(graph, max_nodes)
    sub = graph.subgraph(shown)
    fig, ax = plt.subplots(figsize=(12, 10), dpi=100)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if sub.number_of_nodes():
        n = sub.number_of_nodes()
        layout = nx.spring_layout(sub, k=2.0 / math.sqrt(n), iterations=300, seed=0, weight=None)
        xs = [x for x, _ in layout.values()]
        ys = [y for _, y in layout.values()]
        pad_x = 0.08 * (max(xs) - min(xs) or 1)
        pad_y = 0.08 * (max(ys) - min(ys) or 1)
        ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
        ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
        labels = sorted({data.get("entity_label", "") for _, data in sub.nodes(data=True)})
        cmap = plt.get_cmap("tab20" if len(labels) > 10 else "tab10")
        colour = {label: cmap(i % cmap.N) for i, label in enumerate(labels)}
        most = max(data.get("mentions", 1) for _, data in sub.nodes(data=True)) or 1
        # Marker areas in points²; the radius (points) is what labels avoid.
        sizes = {node: 30 + 600 * math.sqrt(sub.nodes[node].get("mentions", 0) / most) for node in sub.nodes}
        heaviest = max((d.get("weight", 1) for _, _, d in sub.edges(data=True)), default=1)
        widths = [0.3 + 3 * d.get("weight", 1) / heaviest for _, _, d in sub.edges(data=True)]
        nx.draw_networkx_edges(sub, layout, ax=ax, width=widths, alpha=0.35, edge_color="#555555")
        nx.draw_networkx_nodes(
            sub,
            layout,
            ax=ax,
            node_size=[sizes[node] for node in sub.nodes],
            node_color=[colour[sub.nodes[node].get("entity_label", "")] for node in sub.nodes],
            linewidths=0.5,
            edgecolors="white",
        )
        named = by_weighted_degree(sub)[:top_labels]
        # "$" would start matplotlib's mathtext.
        names = {node: str(node).replace("$", r"\$") for node in named}
        radii = {node: math.sqrt(sizes[node] / math.pi) for node in sub.nodes}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # glyphs missing from the default font
            _place_labels(ax, fig, layout, names, radii)
        for label in labels:
            ax.scatter([], [], color=colour[label], label=label or "(none)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, frameon=False, title="entity label")
        caption += (
            f" Node size: mentions; line width: co-mentions; named: the {len(named)} actors"
            " with the highest weighted degree."
        )
    fig.text(0.02, 0.01, caption, ha="left", va="bottom", fontsize=9, wrap=True)
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
