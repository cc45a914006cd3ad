"""Exports: every format is parsed back and compared with the graph in memory."""

import csv
import json

import networkx as nx
import pytest
from lxml import etree

from spacy_bilstm.network import build_network, extract_network
from spacy_bilstm.network.export import (
    FORMATS,
    clean_xml,
    neutralise_cell,
    output_paths,
    write_graph,
    write_report,
)

from .test_network_extract import make_doc

NASTY = [
    '[A & B <Corp> "quoted"](ORG)',
    '[=HYPERLINK("http://x.test")](ORG)',
    "[@handle](PERSON)",
    "[-Minus Man](PERSON)",
    "[+Plus](ORG)",
    "[Zoë Ng](PERSON)",
    "[Владимир Путин](PERSON)",
    "[O'Neil, Jr.](PERSON)",
]


@pytest.fixture(scope="module")
def network():
    docs = [
        make_doc(
            " ".join(NASTY[:4]) + " .",
            meta={"id": "doc\x01one", "date": "2021-01-0\x02", "speaker": "Ann <Lee>"},
            cats={"support": 0.1, "oppose": 0.9},
        ),
        make_doc(" ".join(NASTY[3:]) + " .", meta={"id": 'two "quoted", id', "date": "2021-02-01"}),
        make_doc(NASTY[0] + " " + NASTY[5] + " .", meta={"id": "three", "speaker": "=cmd|' /C calc'!A0"}),
    ]
    return build_network(extract_network(docs))


def _decode(value):
    # Lists travel as JSON text, which escapes control characters itself, so
    # they come back whole; plain strings lose what XML cannot hold.
    if isinstance(value, (list, tuple)):
        return list(value)
    return clean_xml(value)[0] if isinstance(value, str) else value


def _compare_xml_graph(read: nx.Graph, graph: nx.Graph) -> None:
    assert sorted(read.nodes) == sorted(clean_xml(n)[0] for n in graph.nodes)
    for node, data in graph.nodes(data=True):
        got = read.nodes[clean_xml(node)[0]]
        for key, value in data.items():
            loaded = json.loads(got[key]) if isinstance(value, list) else got[key]
            assert loaded == _decode(value), (node, key)
    assert read.number_of_edges() == graph.number_of_edges()
    for u, v, data in graph.edges(data=True):
        got = read.edges[clean_xml(u)[0], clean_xml(v)[0]]
        for key, value in data.items():
            loaded = json.loads(got[key]) if isinstance(value, list) else got[key]
            assert loaded == _decode(value), (u, v, key)


def _csv_expected(value) -> str:
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return str(value)
    return neutralise_cell(value)


@pytest.mark.parametrize("which", ["graph", "speakers"])
def test_every_export_parses_back_to_the_same_graph(tmp_path, network, which):
    graph = network.graph if which == "graph" else network.speakers
    out = tmp_path / "net.gexf"
    written, removed = write_graph(graph, out, FORMATS)
    paths = output_paths(out, FORMATS)
    assert sorted(written) == sorted(p for group in paths.values() for p in group)
    # Control characters in the first document's id and date (which every
    # edge of that document carries) cannot be written to XML.
    assert removed > 0

    for fmt, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        etree.parse(str(paths[fmt][0]))  # strict XML parser: well-formed
        _compare_xml_graph(reader(paths[fmt][0]), graph)

    with open(paths["json"][0], encoding="utf8") as f:
        loaded = nx.node_link_graph(json.load(f), edges="edges")
    assert loaded.is_directed() == graph.is_directed()
    assert list(loaded.nodes(data=True)) == list(graph.nodes(data=True))
    assert sorted(loaded.edges(data=True)) == sorted(graph.edges(data=True))

    with open(paths["csv"][0], newline="", encoding="utf8") as f:
        nodes = {row["id"]: row for row in csv.DictReader(f)}
    assert set(nodes) == {neutralise_cell(node) for node in graph.nodes}
    for node, data in graph.nodes(data=True):
        row = nodes[neutralise_cell(node)]
        for key, value in data.items():
            assert row[key] == _csv_expected(value), (node, key)
    with open(paths["csv"][1], newline="", encoding="utf8") as f:
        edges = {(row["source"], row["target"]): row for row in csv.DictReader(f)}
    assert len(edges) == graph.number_of_edges()
    for u, v, data in graph.edges(data=True):
        row = edges[neutralise_cell(u), neutralise_cell(v)]
        for key, value in data.items():
            assert row[key] == _csv_expected(value), (u, v, key)

    import pyarrow.parquet as pq

    # A column is null where a node (speaker or actor) lacks the attribute.
    table_nodes = pq.read_table(paths["parquet"][0] / "nodes.parquet").to_pylist()
    assert [row.pop("id") for row in table_nodes] == list(graph.nodes)
    assert [{k: v for k, v in row.items() if v is not None} for row in table_nodes] == [
        dict(data) for _, data in graph.nodes(data=True)
    ]
    table_edges = pq.read_table(paths["parquet"][0] / "edges.parquet").to_pylist()
    assert [(row.pop("source"), row.pop("target")) for row in table_edges] == list(graph.edges)
    assert table_edges == [dict(data) for _, _, data in graph.edges(data=True)]

    assert paths["png"][0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Atomic writes leave no temporary files behind.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_csv_neutralises_formulas_but_not_numbers(tmp_path, network):
    write_graph(network.graph, tmp_path / "g.csv", ["csv"])
    ids = {
        row["id"]
        for row in csv.DictReader((tmp_path / "g.nodes.csv").read_text(encoding="utf8").splitlines())
    }
    assert '\'=HYPERLINK("http://x.test")' in ids
    assert {"'@handle", "'-Minus Man", "'+Plus", 'A & B <Corp> "quoted"', "Zoë Ng"} <= ids
    assert not any(name.startswith(("=", "+", "-", "@")) for name in ids)
    write_graph(network.speakers, tmp_path / "s.csv", ["csv"])
    rows = list(csv.DictReader((tmp_path / "s.edges.csv").read_text(encoding="utf8").splitlines()))
    assert "speaker:=cmd|' /C calc'!A0" in {row["source"] for row in rows}  # starts with "s": harmless
    labels = {
        row["label"]
        for row in csv.DictReader((tmp_path / "s.nodes.csv").read_text(encoding="utf8").splitlines())
    }
    assert "'=cmd|' /C calc'!A0" in labels
    negative = [row for row in rows if row["stance"].startswith("-")]
    assert negative and all(float(row["stance"]) < 0 for row in negative)


def test_neutralise_cell_and_clean_xml():
    assert neutralise_cell("=1+1") == "'=1+1"
    assert neutralise_cell("\tx") == "'\tx"
    assert neutralise_cell("Keir Starmer") == "Keir Starmer"
    assert clean_xml("a\x00b\x1fc\td\ud800e\ufffe") == ("ab" + "c\td" + "e", 4)


def test_output_paths_and_report(tmp_path):
    paths = output_paths(tmp_path / "results" / "graph.gexf", ["gexf", "csv"], suffix=".speakers")
    assert paths["gexf"] == [tmp_path / "results" / "graph.speakers.gexf"]
    assert paths["csv"][1] == tmp_path / "results" / "graph.speakers.edges.csv"
    assert output_paths(tmp_path / "g", ["json"])["json"] == [tmp_path / "g.json"]
    write_report({"b": 1, "a": "é"}, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf8")) == {"a": "é", "b": 1}
    # A report that fails half-way through (json.dump has written "a" when it
    # meets the object it cannot encode) leaves the previous file whole and
    # no temporary file behind.
    with pytest.raises(TypeError):
        write_report({"a": "x" * 10_000, "b": object()}, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf8")) == {"a": "é", "b": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
