"""Alias resolution: normalisation, surnames within and across documents, user tables."""

import json

import pytest

from spacy_bilstm.errors import InputError
from spacy_bilstm.network import AliasTable, ExtractOptions, build_network, extract_network, normalize_name
from spacy_bilstm.network.aliases import canonical_map, display_name

from .test_network_extract import make_doc


@pytest.mark.parametrize(
    "text,surface",
    [
        ("Mr Johnson", "Johnson"),
        ("Mrs. Thatcher", "Thatcher"),
        ("Ms Rayner", "Rayner"),
        ("Dr Liam Fox", "Liam Fox"),
        ("Sir Keir Starmer", "Keir Starmer"),
        ("Dame Margaret Hodge", "Margaret Hodge"),
        ("Lord Frost", "Frost"),
        ("Baroness Chakrabarti", "Chakrabarti"),
        ("the Rt Hon Keir Starmer", "Keir Starmer"),
        ("The Rt. Hon. Sir Keir Starmer", "Keir Starmer"),
        ("the Right Honourable Theresa May", "Theresa May"),
        ("Johnson's", "Johnson"),
        ("Starmer’s", "Starmer"),
        ("Jones'", "Jones"),
        ("JOHNSON'S", "JOHNSON"),
        ("Diane Abbott MP", "Diane Abbott"),
        ("  Boris \n\t Johnson ", "Boris Johnson"),
        ("“Keir Starmer”", "Keir Starmer"),
        ("Lord", "Lord"),
        ("Mr", "Mr"),
        ("The Guardian", "The Guardian"),
        ("Zoë Ng", "Zoë Ng"),
        ("Zoe\u0308 Ng", "Zoë Ng"),
    ],
)
def test_normalize_name(text, surface):
    assert normalize_name(text).surface == surface
    assert normalize_name(text).key == surface.casefold()


def test_case_and_whitespace_share_a_key():
    keys = {
        normalize_name(t).key
        for t in ["Boris Johnson", "BORIS JOHNSON", "boris  johnson", "Mr Boris Johnson"]
    }
    assert keys == {"boris johnson"}


def test_surname_resolves_to_the_latest_earlier_full_name_in_the_document():
    doc = make_doc(
        "[Ed Miliband](PERSON) spoke . [Miliband](PERSON) left . [David Miliband](PERSON) came . "
        "[Mr Miliband](PERSON) stayed ."
    )
    network = build_network(extract_network([doc]))
    assert network.graph.nodes["Ed Miliband"]["mentions"] == 2
    assert network.graph.nodes["David Miliband"]["mentions"] == 2
    assert "Miliband" not in network.graph


def test_surname_is_not_resolved_for_other_labels():
    doc = make_doc("[European Commission](ORG) said . [Commission](ORG) agreed .")
    network = build_network(extract_network([doc]))
    assert set(network.graph.nodes) == {"European Commission", "Commission"}


def test_across_documents_the_most_frequent_full_name_wins():
    docs = [
        make_doc("[Boris Johnson](PERSON) and [Boris Johnson](PERSON) ."),
        make_doc("[Alan Johnson](PERSON) ."),
        # A surname before any full name in its document: resolved globally.
        make_doc("[Johnson](PERSON) and [Keir Starmer](PERSON) ."),
    ]
    network = build_network(extract_network(docs))
    assert network.graph.nodes["Boris Johnson"]["mentions"] == 3
    assert network.graph.nodes["Alan Johnson"]["mentions"] == 1
    assert network.graph.has_edge("Boris Johnson", "Keir Starmer")
    assert network.canonical["johnson"] == "Boris Johnson"


def test_global_resolution_merges_a_window_without_counting_it_twice():
    # "Johnson" comes first, so it stays "johnson" in the document; globally it
    # becomes Boris Johnson, who is in the same sentence: one pair, not two.
    docs = [make_doc("[Johnson](PERSON) , [Boris Johnson](PERSON) and [Keir Starmer](PERSON) .")]
    network = build_network(extract_network(docs))
    assert network.graph.edges["Boris Johnson", "Keir Starmer"]["weight"] == 1
    assert network.graph.nodes["Boris Johnson"]["mentions"] == 2
    assert not network.graph.has_edge("Boris Johnson", "Boris Johnson")


def test_ties_are_broken_alphabetically():
    counts = {"ann smith": 2, "bob smith": 2, "smith": 1}
    labels = {key: {"PERSON": n} for key, n in counts.items()}
    from collections import Counter

    mapping = canonical_map(counts, {k: Counter(v) for k, v in labels.items()})
    assert mapping["smith"] == "ann smith"
    assert display_name("ann smith", {"ANN SMITH": 2, "Ann Smith": 2}) == "Ann Smith"
    assert display_name("ann smith", {"ANN SMITH": 3, "Ann Smith": 2}) == "ANN SMITH"


def test_display_name_is_the_most_frequent_full_form_and_node_keeps_aliases():
    docs = [
        make_doc("[the Rt Hon Keir Starmer](PERSON) . [Starmer](PERSON) . [Mr Starmer](PERSON) ."),
        make_doc("[KEIR STARMER](PERSON) and [Keir Starmer](PERSON) and [Keir Starmer's](PERSON) ."),
    ]
    network = build_network(extract_network(docs))
    assert list(network.graph.nodes) == ["Keir Starmer"]
    node = network.graph.nodes["Keir Starmer"]
    assert node["mentions"] == 6
    assert set(node["aliases"]) == {
        "the Rt Hon Keir Starmer",
        "Starmer",
        "Mr Starmer",
        "KEIR STARMER",
        "Keir Starmer",
        "Keir Starmer's",
    }


def test_alias_table_overrides_resolution(tmp_path):
    path = tmp_path / "aliases.csv"
    path.write_text(
        "alias,canonical\n"
        "Johnson,Alexander Boris de Pfeffel Johnson\n"
        "Boris Johnson,Alexander Boris de Pfeffel Johnson\n"
        "the PM,Alexander Boris de Pfeffel Johnson\n"
        "BoJo,Alexander Boris de Pfeffel Johnson\n",
        encoding="utf8",
    )
    table = AliasTable.from_path(path)
    options = ExtractOptions(aliases=table)
    docs = [
        make_doc("[Keir Starmer](PERSON) and [Johnson](PERSON) ."),
        make_doc("[Boris Johnson](PERSON) and [BoJo](PERSON) ."),
        make_doc(
            "[The PM](PERSON) and [Mr Keir Starmer](PERSON) .", meta={"speaker": "Mr Johnson", "id": "s"}
        ),
    ]
    network = build_network(extract_network(docs, options), options)
    assert set(network.graph.nodes) == {"Alexander Boris de Pfeffel Johnson", "Keir Starmer"}
    assert network.graph.nodes["Alexander Boris de Pfeffel Johnson"]["mentions"] == 4
    assert network.graph.edges["Alexander Boris de Pfeffel Johnson", "Keir Starmer"]["weight"] == 2
    assert "speaker:Alexander Boris de Pfeffel Johnson" in network.speakers


def test_alias_table_protects_a_one_word_canonical(tmp_path):
    path = tmp_path / "aliases.json"
    path.write_text(json.dumps({"Mr Smith": "Smith"}), encoding="utf8")
    options = ExtractOptions(aliases=AliasTable.from_path(path))
    docs = [
        make_doc("[John Smith](PERSON) [John Smith](PERSON) ."),
        make_doc("[Mr Smith](PERSON) [Ann Lee](PERSON) ."),
    ]
    network = build_network(extract_network(docs, options), options)
    assert network.graph.nodes["Smith"]["mentions"] == 1
    assert network.graph.has_edge("Smith", "Ann Lee")


@pytest.mark.parametrize(
    "name,content,message,line",
    [
        ("a.csv", "name,target\nx,y\n", "header", 1),
        ("a.csv", "alias,canonical\nx,y\nX,z\n", "two different names", 3),
        ("a.csv", "alias,canonical\nx,y\ny,z\n", "chained alias", 2),
        ("a.csv", "alias,canonical\nx,\n", "empty", 2),
        ("a.csv", "alias,canonical\nx\n", "columns", 2),
        ("a.json", '{"x": "y",\n "z": }', "invalid JSON", 2),
        ("a.json", '["x", "y"]', "one object", None),
        ("a.txt", "x,y", ".csv or .json", None),
    ],
)
def test_alias_table_errors_name_file_and_line(tmp_path, name, content, message, line):
    path = tmp_path / name
    path.write_text(content, encoding="utf8")
    with pytest.raises(InputError) as info:
        AliasTable.from_path(path)
    assert message in str(info.value)
    assert info.value.path == str(path)
    assert info.value.line == line
