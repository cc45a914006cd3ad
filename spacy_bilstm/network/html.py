"""The network as one interactive HTML page that works offline, from file://.

The graph is drawn by vis-network through pyvis, with every script and style
sheet inlined (``cdn_resources="in_line"``). pyvis rather than gravis, the
other library that inlines everything: pyvis is the one in wide use (and
was released more recently, 0.3.2 in 2023 against gravis's single 0.1.0 of
2021); vis-network draws on a canvas, which stays responsive with thousands
of nodes where an SVG of the same graph does not, and gives hover and click
events, focus and selection that the page's search and evidence panel build
on. (ipysigma's page loads require.js and the Jupyter widget manager from
CDNs, so it is blank offline.)

What the page has, besides the drawing:

* node size by mentions (speakers: documents), colour by entity label
  (speakers: by party), or by community (a switch); edge width by weight;
* search by name, which selects and centres the actor;
* a panel with the details of the node or edge under the pointer or last
  clicked: an actor's aliases and mentions; an edge's count, documents,
  dates and evidence (up to K sentences with document id, speaker, date;
  for a speaker → actor edge, the speaker's sentences naming the actor).

Every name and every sentence reaches the page only as JSON inside a
script element, with ``<``, ``>``, ``&`` and the JavaScript line separators
written as ``\\u`` escapes (jinja's ``tojson`` for pyvis's data, the same
escaping for ours), and the page's own script puts them into the document
with ``textContent`` only: markup in a name is shown as text, never run.
A Content-Security-Policy forbids loading anything from anywhere, so the
page cannot depend on the network by accident.
"""

import json
import math
import re
from html import escape
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import networkx as nx

from ..io import atomic_open
from .graph import by_weighted_degree

# Above this many nodes, the page shows those with the highest weighted
# degree: a browser's force layout is slow to settle on more.
HTML_MAX_NODES = 2000
MAX_ALIASES = 25
MAX_DOC_IDS = 20
# Matplotlib's tab10 then the lighter halves of tab20: the PNG's colours.
PALETTE: Tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
OTHER_COLOUR = "#b0b0b0"
_REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
# pyvis's template links Bootstrap from a CDN whatever `cdn_resources` says;
# the page uses none of it.
_BOOTSTRAP = re.compile(r"<link\b[^>]*bootstrap[^>]*>|<script\b[^>]*bootstrap[^>]*>\s*</script>", re.IGNORECASE)
_EMPTY_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>")
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)


def script_json(value: Any) -> str:
    """JSON that is safe inside an HTML script element: no character of it can
    end the element or start markup.

    value (Any): JSON-able data.
    RETURNS (str): The JSON text with <, >, &, ' and U+2028/U+2029 escaped.
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _colours(values: List[str]) -> Dict[str, str]:
    # The most frequent values get the palette, in order; the rest share grey.
    counts: Dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    ranked = sorted(counts, key=lambda value: (-counts[value], value))
    return {value: PALETTE[i] if i < len(PALETTE) else OTHER_COLOUR for i, value in enumerate(ranked)}


def _shown(graph: nx.Graph, max_nodes: int) -> List[Any]:
    if graph.number_of_nodes() <= max_nodes:
        return list(graph.nodes)
    return by_weighted_degree(graph)[:max_nodes]


def page_data(graph: nx.Graph, max_nodes: int = HTML_MAX_NODES) -> Dict[str, Any]:
    """The nodes, edges and legends the page shows (pure; for tests too).

    graph (nx.Graph): A co-mention graph or a speaker graph from `build_network`.
    max_nodes (int): Show at most this many nodes (highest weighted degree).
    RETURNS (Dict[str, Any]): ``nodes`` and ``edges`` (vis-network items with
        the details the panel shows), ``legends`` (colour → meaning for the
        two colourings) and ``hidden`` (nodes left out).
    """
    shown = _shown(graph, max_nodes)
    index = {node: i for i, node in enumerate(shown)}
    speakers = graph.is_directed()

    def group(data: Dict[str, Any]) -> str:
        if data.get("role") == "speaker":
            return "party: " + str(data.get("party") or "(none)")
        return "label: " + str(data.get("entity_label") or "(none)")

    groups = _colours([group(graph.nodes[node]) for node in shown])
    communities = _colours([str(graph.nodes[node].get("community", 0)) for node in shown])
    size_of = {
        node: graph.nodes[node].get("documents" if graph.nodes[node].get("role") == "speaker" else "mentions", 1)
        or 1
        for node in shown
    }
    largest = max(size_of.values(), default=1)
    nodes = []
    for node in shown:
        data = graph.nodes[node]
        name = str(data.get("label", node)) if speakers else str(node)
        colour = groups[group(data)]
        nodes.append(
            {
                "id": index[node],
                "label": name,
                "name": name,
                "shape": "diamond" if data.get("role") == "speaker" else "dot",
                "size": round(8 + 32 * math.sqrt(size_of[node] / largest), 2),
                "color": colour,
                "group_colour": colour,
                "community_colour": communities[str(data.get("community", 0))],
                "details": {
                    key: value[:MAX_ALIASES] if key == "aliases" else value
                    for key, value in sorted(data.items())
                    if key not in ("label",)
                },
            }
        )
    edges = []
    shown_edges = [(u, v, d) for u, v, d in graph.edges(data=True) if u in index and v in index]
    heaviest = max((d.get("weight", 1) for _, _, d in shown_edges), default=1) or 1
    for number, (u, v, data) in enumerate(shown_edges):
        details = {key: value for key, value in sorted(data.items()) if key not in ("evidence", "dates")}
        details["doc_ids"] = list(data.get("doc_ids", []))[:MAX_DOC_IDS]
        edges.append(
            {
                "id": f"e{number}",
                "from": index[u],
                "to": index[v],
                "width": round(1 + 7 * data.get("weight", 1) / heaviest, 2),
                "details": details,
                "evidence": list(data.get("evidence", [])),
            }
        )
    return {
        "nodes": nodes,
        "edges": edges,
        "legends": {
            "group": sorted(([colour, value] for value, colour in groups.items()), key=lambda p: p[1]),
            "community": sorted(
                ([colour, f"community {value}"] for value, colour in communities.items()),
                key=lambda p: int(p[1].split()[-1]),
            ),
        },
        "hidden": graph.number_of_nodes() - len(shown),
        "total": graph.number_of_nodes(),
        "directed": speakers,
    }


_VIS_OPTIONS = {
    # A fixed seed: the same graph is laid out the same way every time.
    "layout": {"improvedLayout": False, "randomSeed": 0},
    "physics": {
        "solver": "forceAtlas2Based",
        "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 120, "avoidOverlap": 0.4},
        "stabilization": {"enabled": True, "iterations": 400, "fit": True},
    },
    "interaction": {"hover": True, "tooltipDelay": 100, "multiselect": False, "navigationButtons": False},
    "nodes": {"font": {"size": 14, "strokeWidth": 3, "strokeColor": "#ffffff"}, "borderWidth": 1},
    "edges": {"color": {"color": "#9a9a9a", "highlight": "#333333", "hover": "#333333", "opacity": 0.6},
              "smooth": False, "selectionWidth": 2},
}  # fmt: skip

_STYLE = """
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; }
#mynetwork { border: none !important; float: none !important; width: calc(100% - 360px) !important; }
#sb-panel { position: fixed; top: 0; right: 0; width: 360px; max-height: 100vh; overflow: auto;
  background: rgba(255,255,255,0.96); border-left: 1px solid #ccc; padding: 10px 12px; box-sizing: border-box; }
#sb-panel h1 { font-size: 16px; margin: 0 0 6px; }
#sb-panel input, #sb-panel select { width: 100%; box-sizing: border-box; margin: 2px 0 6px; font: inherit; }
#sb-panel .sb-note { color: #666; font-size: 12px; }
#sb-details .sb-name { font-weight: bold; font-size: 15px; unicode-bidi: isolate; }
#sb-details dt { color: #555; font-size: 12px; margin-top: 4px; }
#sb-details dd { margin: 0 0 0 8px; unicode-bidi: isolate; }
#sb-details blockquote { margin: 4px 0 8px; padding: 4px 8px; border-left: 3px solid #999; background: #f6f6f6;
  white-space: pre-wrap; unicode-bidi: isolate; }
#sb-details mark { background: #ffe58a; }
#sb-legend span.sb-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
#sb-legend div { unicode-bidi: isolate; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("sb-meta").textContent);
  var details = document.getElementById("sb-details");
  var status = document.getElementById("sb-status");
  var search = document.getElementById("sb-search");
  var pinned = false;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    node.dir = "auto";
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function row(list, term, value) {
    if (value === undefined || value === null || value === "") { return; }
    list.appendChild(el("dt", term));
    list.appendChild(el("dd", Array.isArray(value) ? value.join("; ") : value));
  }
  // The text with the given names marked, built from text nodes only.
  function marked(text, names) {
    var quote = el("blockquote");
    var lower = text.toLowerCase();
    var terms = names.filter(function (n) { return n && n.length > 1; })
      .map(function (n) { return n.toLowerCase(); })
      .sort(function (a, b) { return b.length - a.length; });
    var i = 0, plain = 0;
    while (i < text.length) {
      var hit = null;
      for (var t = 0; t < terms.length; t++) {
        if (lower.substr(i, terms[t].length) === terms[t]) { hit = terms[t]; break; }
      }
      if (hit) {
        if (plain < i) { quote.appendChild(document.createTextNode(text.slice(plain, i))); }
        quote.appendChild(el("mark", text.slice(i, i + hit.length)));
        i += hit.length; plain = i;
      } else { i += 1; }
    }
    if (plain < text.length) { quote.appendChild(document.createTextNode(text.slice(plain))); }
    return quote;
  }
  function namesOf(id) {
    var node = nodes.get(id);
    return [node.name].concat(node.details.aliases || []);
  }

  function showNode(id) {
    var node = nodes.get(id);
    if (!node) { return; }
    clear(details);
    details.setAttribute("data-kind", "node");
    details.setAttribute("data-id", String(id));
    details.appendChild(el("div", node.name, "sb-name"));
    var list = el("dl");
    var d = node.details;
    row(list, "role", d.role);
    row(list, "entity label", d.entity_label);
    row(list, "party", d.party);
    row(list, "mentions", d.mentions);
    row(list, "documents", d.documents);
    row(list, "aliases", d.aliases);
    row(list, "co-mentioned actors (degree)", d.degree);
    row(list, "weighted degree", d.weighted_degree);
    row(list, "community", d.community);
    details.appendChild(list);
  }

  function showEdge(id) {
    var edge = edges.get(id);
    if (!edge) { return; }
    var a = nodes.get(edge.from), b = nodes.get(edge.to);
    clear(details);
    details.setAttribute("data-kind", "edge");
    details.setAttribute("data-id", String(id));
    details.appendChild(el("div", a.name + (meta.directed ? " \u2192 " : " \u2014 ") + b.name, "sb-name"));
    var list = el("dl");
    var d = edge.details;
    row(list, meta.directed ? "documents" : "co-mentions (windows)", d.weight);
    row(list, "mentions", meta.directed ? d.mentions : undefined);
    row(list, "mean stance", meta.directed && d.stance_n ? d.stance_mean.toFixed(2) : undefined);
    row(list, "documents", meta.directed ? undefined : d.n_docs);
    row(list, "first date", d.first_date);
    row(list, "last date", d.last_date);
    row(list, "document ids" + (d.n_docs > d.doc_ids.length ? " (first " + d.doc_ids.length + ")" : ""), d.doc_ids);
    details.appendChild(list);
    if (edge.evidence.length) {
      // A speaker edge's weight counts documents, not the sentences shown.
      details.appendChild(el("div", "Evidence (" + edge.evidence.length +
        (meta.directed ? " sentences" : " of " + d.weight) + ")", "sb-note"));
      var names = namesOf(edge.from).concat(namesOf(edge.to));
      var items = el("ol");
      items.className = "sb-evidence";
      edge.evidence.forEach(function (item) {
        var li = el("li");
        li.appendChild(el("div", [item.doc_id, item.date, item.speaker].filter(Boolean).join(" \u00b7 "), "sb-note"));
        li.appendChild(marked(item.text, names));
        items.appendChild(li);
      });
      details.appendChild(items);
    }
  }

  function reset() {
    pinned = false;
    clear(details);
    details.removeAttribute("data-kind");
    details.appendChild(el("div", "Point at or click an actor or a link for its details.", "sb-note"));
  }

  network.on("click", function (params) {
    if (params.nodes.length) { pinned = true; showNode(params.nodes[0]); }
    else if (params.edges.length) { pinned = true; showEdge(params.edges[0]); }
    else { reset(); }
  });
  network.on("hoverNode", function (params) { if (!pinned) { showNode(params.node); } });
  network.on("hoverEdge", function (params) { if (!pinned) { showEdge(params.edge); } });

  var names = document.getElementById("sb-names");
  nodes.get({ order: "name" }).forEach(function (node) {
    var option = document.createElement("option");
    option.value = node.name;
    names.appendChild(option);
  });
  function find(query) {
    var q = query.trim().toLowerCase();
    if (!q) { return null; }
    var all = nodes.get();
    var exact = all.filter(function (n) { return n.name.toLowerCase() === q; });
    if (exact.length) { return exact[0]; }
    var partial = all.filter(function (n) {
      return n.name.toLowerCase().indexOf(q) >= 0 ||
        (n.details.aliases || []).some(function (a) { return a.toLowerCase().indexOf(q) >= 0; });
    });
    partial.sort(function (x, y) { return (y.details.mentions || 0) - (x.details.mentions || 0); });
    return partial.length ? partial[0] : null;
  }
  function go() {
    var node = find(search.value);
    if (!node) { status.textContent = search.value.trim() ? "No actor matches." : ""; return; }
    status.textContent = "";
    network.selectNodes([node.id]);
    network.focus(node.id, { scale: 1.2, animation: false });
    pinned = true;
    showNode(node.id);
  }
  search.addEventListener("change", go);
  search.addEventListener("keydown", function (event) { if (event.key === "Enter") { go(); } });

  var legend = document.getElementById("sb-legend");
  function colourBy(which) {
    nodes.update(nodes.get().map(function (node) {
      return { id: node.id, color: which === "community" ? node.community_colour : node.group_colour };
    }));
    clear(legend);
    meta.legends[which].forEach(function (pair) {
      var line = el("div");
      var swatch = el("span", "", "sb-swatch");
      swatch.style.background = pair[0];
      line.appendChild(swatch);
      line.appendChild(document.createTextNode(pair[1]));
      legend.appendChild(line);
    });
  }
  document.getElementById("sb-colour").addEventListener("change", function (event) { colourBy(event.target.value); });
  colourBy("group");
  reset();
  document.body.setAttribute("data-ready", "1");
}());
"""


def _panel(title: str, data: Dict[str, Any]) -> str:
    meta = {"legends": data["legends"], "directed": data["directed"]}
    shown = len(data["nodes"])
    note = f"{shown} nodes, {len(data['edges'])} links"
    if data["hidden"]:
        note += f" (the {shown} of {data['total']} nodes with the highest weighted degree)"
    group = "entity label / party" if data["directed"] else "entity label"
    return (
        '<div id="sb-panel">'
        f'<h1 dir="auto">{escape(title)}</h1>'
        f'<div class="sb-note" id="sb-count" data-nodes="{shown}" data-edges="{len(data["edges"])}">'
        f"{escape(note)}</div>"
        '<label for="sb-search">Find an actor</label>'
        '<input id="sb-search" type="search" list="sb-names" autocomplete="off" placeholder="name or alias">'
        '<datalist id="sb-names"></datalist><div id="sb-status" class="sb-note"></div>'
        '<label for="sb-colour">Colour by</label>'
        f'<select id="sb-colour"><option value="group">{escape(group)}</option>'
        '<option value="community">community (Louvain)</option></select>'
        '<div id="sb-legend"></div><hr><div id="sb-details"></div></div>'
        f'<script type="application/json" id="sb-meta">{script_json(meta)}</script>'
        f"<script>{_SCRIPT}</script>"
    )


def render_html(graph: nx.Graph, title: str = "Actor network", max_nodes: int = HTML_MAX_NODES) -> str:
    """The page as text (see the module docstring).

    graph (nx.Graph): A graph from `build_network`.
    title (str): Shown at the top of the panel and as the page title.
    max_nodes (int): Show at most this many nodes.
    RAISES (InputError): If pyvis is not installed.
    RETURNS (str): One self-contained HTML document.
    """
    from .export import format_modules

    (pyvis_network,) = format_modules("html")
    data = page_data(graph, max_nodes)
    net = pyvis_network.Network(
        height="100vh", width="100%", directed=data["directed"], cdn_resources="in_line", heading=""
    )
    for node in data["nodes"]:
        node = dict(node)
        net.add_node(node.pop("id"), **node)
    # `Network.add_edge` checks every existing edge for a duplicate (quadratic
    # in the edges); these are unique, so pyvis's Edge items go in directly.
    from pyvis.edge import Edge

    for edge in data["edges"]:
        edge = dict(edge)
        net.edges.append(Edge(edge.pop("from"), edge.pop("to"), data["directed"], **edge).options)
    net.set_options(json.dumps(_VIS_OPTIONS))
    page = net.generate_html()
    page = _BOOTSTRAP.sub("", page)
    page = _EMPTY_HEADING.sub("", page)
    remote = _REMOTE.search(page)
    if remote:
        raise RuntimeError(f"the pyvis page still loads a remote resource ({remote.group(0)!r}): not offline")
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style>"
    )
    page = page.replace('<meta charset="utf-8">', '<meta charset="utf-8">' + head, 1)
    end = page.rindex("</body>")
    return page[:end] + _panel(title, data) + page[end:]


def write_html(
    graph: nx.Graph, path: Union[str, Path], title: Optional[str] = None, max_nodes: int = HTML_MAX_NODES
) -> None:
    """Write the page (see `render_html`), atomically.

    graph (nx.Graph): A graph from `build_network`.
    path (Union[str, Path]): The .html file.
    title (Optional[str]): The page title (default: "Actor network", or
        "Speakers and actors" for the speaker graph).
    max_nodes (int): Show at most this many nodes.
    """
    if title is None:
        title = "Speakers and actors" if graph.is_directed() else "Actor network"
    page = render_html(graph, title, max_nodes)
    with atomic_open(path, "w") as f:
        f.write(page)
