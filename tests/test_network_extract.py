"""Co-mention extraction: pure functions on Docs built by hand (no model)."""

import random
import re
from collections import Counter
from typing import Dict, List, Optional

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_bilstm.errors import InputError
from spacy_bilstm.extensions import install_extensions
from spacy_bilstm.network import (
    Aggregate,
    ExtractOptions,
    GraphOptions,
    Window,
    build_network,
    comention_edges,
    comention_windows,
    doc_mentions,
    extract_doc,
    extract_network,
)

install_extensions()
VOCAB = Vocab()
_TOKEN = re.compile(r"\[([^\]]+)\]\((\w+)\)|(\S+)")


def make_doc(
    markup: str,
    meta: Optional[Dict[str, object]] = None,
    sentences: bool = True,
    cats: Optional[Dict[str, float]] = None,
) -> Doc:
    """A Doc from markup: "[Boris Johnson](PERSON) met [Keir Starmer](PERSON) ."

    "." ends a sentence; "¶" is a blank line (a paragraph break token).
    """
    words: List[str] = []
    ents: List[str] = []
    for match in _TOKEN.finditer(markup):
        if match.group(1):
            tokens = match.group(1).split(" ")
            words.extend(tokens)
            ents.extend([f"B-{match.group(2)}"] + [f"I-{match.group(2)}"] * (len(tokens) - 1))
        else:
            words.append("\n\n" if match.group(3) == "¶" else match.group(3))
            ents.append("O")
    starts = None
    if sentences:
        starts = [i == 0 or words[i - 1] in (".", "\n\n") for i in range(len(words))]
    spaces = [
        not (w == "\n\n" or (i + 1 < len(words) and words[i + 1] == "\n\n")) for i, w in enumerate(words)
    ]
    doc = Doc(VOCAB, words=words, spaces=spaces, ents=ents, sent_starts=starts)
    doc._.meta = meta
    if cats:
        doc.cats = dict(cats)
    return doc


def weights(network) -> Dict[tuple, int]:
    return {(e.source, e.target): e.weight for e in network.edges()}


def test_pair_counted_once_per_window_and_every_mention_once():
    doc = make_doc("[Boris Johnson](PERSON) met [Keir Starmer](PERSON) and [Boris Johnson](PERSON) again .")
    network = build_network(extract_network([doc]))
    assert weights(network) == {("Boris Johnson", "Keir Starmer"): 1}
    assert network.graph.nodes["Boris Johnson"]["mentions"] == 2
    assert network.graph.nodes["Keir Starmer"]["mentions"] == 1
    assert network.stats["mentions"] == 3


def _pairs(*names: str) -> Dict[tuple, int]:
    return {(a, b): 1 for i, a in enumerate(names) for b in names[i + 1 :]}


@pytest.mark.parametrize(
    "window,expected",
    [
        # Sentences: [A B] [C D] [¶] [D E]; paragraphs: [A B C D] ¶ [D E].
        ("sentence", {("A A", "B B"): 1, ("C C", "D D"): 1, ("D D", "E E"): 1}),
        ("paragraph", {**_pairs("A A", "B B", "C C", "D D"), ("D D", "E E"): 1}),
        ("document", _pairs("A A", "B B", "C C", "D D", "E E")),
        # First tokens: A 0, B 2, C 5, D 7, D 11, E 14.
        ("tokens:2", {("A A", "B B"): 1, ("C C", "D D"): 1}),
        ("tokens:3", {("A A", "B B"): 1, ("B B", "C C"): 1, ("C C", "D D"): 1, ("D D", "E E"): 1}),
    ],
)
def test_windows(window, expected):
    doc = make_doc("[A A](PERSON) [B B](PERSON) . [C C](ORG) [D D](ORG) . ¶ [D D](ORG) x [E E](ORG) .")
    network = build_network(extract_network([doc], ExtractOptions(window=Window.parse(window))))
    assert weights(network) == expected


def test_tokens_window_counts_each_pair_of_mentions():
    doc = make_doc("[A A](PERSON) [B B](PERSON) [A A](PERSON) x x x x x x [B B](PERSON) .")
    # Starts: A0 B2 A4 B12. Within 4 tokens: A0–B2, B2–A4 (A0–A4 is the same actor).
    network = build_network(extract_network([doc], ExtractOptions(window=Window("tokens", 4))))
    assert weights(network) == {("A A", "B B"): 2}


def test_window_parse():
    assert Window.parse("Sentence") == Window("sentence")
    assert Window.parse("tokens:7") == Window("tokens", 7)
    assert Window.parse("12") == Window("tokens", 12)
    for bad in ["line", "tokens:0", "tokens:x", "-3"]:
        with pytest.raises(InputError, match=f"unknown window {bad!r}"):
            Window.parse(bad)


def test_doc_without_sentence_boundaries_is_one_sentence():
    doc = make_doc("[A A](PERSON) met x . [B B](PERSON) left .", sentences=False)
    assert not doc.has_annotation("SENT_START")
    extraction = extract_doc(doc, ExtractOptions(), default_id="d")
    assert extraction.windows == [("a a", "b b")]
    assert extraction.stats["docs_without_sentences"] == 1
    with_sentences = extract_doc(
        make_doc("[A A](PERSON) met x . [B B](PERSON) left ."), ExtractOptions(), "d"
    )
    assert with_sentences.windows == []
    assert "docs_without_sentences" not in with_sentences.stats


def test_docs_with_no_or_one_entity():
    docs = [make_doc("Nothing to see here ."), make_doc("Only [Ed Davey](PERSON) spoke ."), make_doc("")]
    network = build_network(extract_network(docs))
    assert list(network.graph.nodes) == ["Ed Davey"]
    assert network.graph.number_of_edges() == 0
    assert network.graph.nodes["Ed Davey"]["mentions"] == 1
    assert network.stats["docs"] == 3
    assert network.summary["isolates"] == 1


def test_mention_counts_add_up_after_label_filter():
    docs = [
        make_doc("[Boris Johnson](PERSON) visited [Paris](GPE) on [Monday](DATE) with [Labour](ORG) ."),
        make_doc("[Johnson](PERSON) and [Paris](GPE) and [5](CARDINAL) ."),
    ]
    options = ExtractOptions(labels=frozenset({"PERSON", "GPE", "ORG"}), exclude_labels=frozenset({"ORG"}))
    network = build_network(extract_network(docs, options), options)
    assert network.stats["entities"] == 7
    assert network.stats["dropped_label"] == 3
    assert network.stats["mentions"] == 4
    assert sum(mentions for _, mentions in network.graph.nodes(data="mentions")) == 4
    assert set(network.graph.nodes) == {"Boris Johnson", "Paris"}


def test_edges_are_symmetric_sorted_and_carry_evidence():
    docs = [
        make_doc("[Zed Z](PERSON) met [Amy A](PERSON) .", meta={"id": "d2", "date": "2021-05-01"}),
        make_doc("[Amy A](PERSON) met [Zed Z](PERSON) .", meta={"id": "d1", "date": "2020-01-01"}),
        make_doc("[Amy A](PERSON) met [Zed Z](PERSON) .", meta={"id": "d3"}),
    ]
    network = build_network(extract_network(docs))
    graph = network.graph
    assert graph.has_edge("Amy A", "Zed Z") and graph.has_edge("Zed Z", "Amy A")
    data = graph.edges["Zed Z", "Amy A"]
    assert data == graph.edges["Amy A", "Zed Z"]
    assert data["weight"] == 3
    assert data["doc_ids"] == ["d1", "d2", "d3"]
    assert data["dates"] == ["2020-01-01", "2021-05-01"]
    assert (data["first_date"], data["last_date"]) == ("2020-01-01", "2021-05-01")
    edges = network.edges()
    assert all(edge.source < edge.target for edge in edges)
    assert edges == sorted(edges)
    assert comention_edges(docs) == edges


def test_default_ids_are_positions_in_the_stream():
    docs = [make_doc("[A A](PERSON) [B B](PERSON) .") for _ in range(3)]
    aggregate = extract_network(docs[:2])
    extract_network(docs[2:], aggregate=aggregate)
    network = build_network(aggregate)
    assert network.graph.edges["A A", "B B"]["doc_ids"] == ["0", "1", "2"]
    with pytest.raises(InputError, match="a Doc has no id"):
        extract_doc(docs[0], ExtractOptions())


def _corpus(seed: int, n: int = 40) -> List[Doc]:
    rng = random.Random(seed)
    people = [
        "Boris Johnson",
        "Johnson",
        "Keir Starmer",
        "Starmer",
        "Ed Miliband",
        "David Miliband",
        "Miliband",
    ]
    orgs = ["Treasury", "European Commission", "Labour Party"]
    docs = []
    for i in range(n):
        parts = []
        for _ in range(rng.randint(0, 12)):
            roll = rng.random()
            if roll < 0.4:
                parts.append(f"[{rng.choice(people)}](PERSON)")
            elif roll < 0.55:
                parts.append(f"[{rng.choice(orgs)}](ORG)")
            elif roll < 0.7:
                parts.append(".")
            elif roll < 0.75:
                parts.append("¶")
            else:
                parts.append("word")
        parts.append(".")
        speaker = rng.choice([None, "Boris Johnson", "Mr Keir Starmer"])
        meta = {
            "id": f"doc{i:03d}",
            "date": f"2020-0{rng.randint(1, 9)}-01",
            "speaker": speaker,
            "party": "P",
        }
        cats = {"support": 0.75, "oppose": 0.25} if rng.random() < 0.5 else None
        docs.append(make_doc(" ".join(parts), meta=meta, cats=cats))
    return docs


def _graph_signature(network) -> tuple:
    def dump(graph):
        if graph is None:
            return None
        return (
            list(graph.nodes(data=True)),
            sorted((min(u, v), max(u, v), sorted(d.items())) for u, v, d in graph.edges(data=True)),
        )

    return dump(network.graph), dump(network.speakers), network.summary


@pytest.mark.parametrize("window", ["sentence", "paragraph", "document", "tokens:3"])
def test_deterministic_and_independent_of_batches_and_order(window):
    options = ExtractOptions(window=Window.parse(window))
    docs = _corpus(0)
    whole = extract_network(docs, options)
    reference = _graph_signature(build_network(whole, options))
    for batch_size in (1, 3, 7, 40):
        parts = [extract_network(docs[i : i + batch_size], options) for i in range(0, len(docs), batch_size)]
        random.Random(batch_size).shuffle(parts)
        merged = Aggregate()
        for part in parts:
            merged.merge(part)
        assert merged == whole
        assert _graph_signature(build_network(merged, options)) == reference
    rebuilt = Aggregate.from_rows(whole.to_rows())
    assert _graph_signature(build_network(rebuilt, options)) == reference


def test_speaker_edges_are_directed_bipartite_and_signed_by_stance():
    docs = [
        make_doc(
            "[Keir Starmer](PERSON) and [Treasury](ORG) . [Starmer](PERSON) again .",
            meta={"id": "1", "speaker": "Mr Boris Johnson", "party": "Conservative"},
            cats={"support": 0.9, "oppose": 0.1},
        ),
        make_doc(
            "[Keir Starmer](PERSON) spoke .",
            meta={"id": "2", "speaker": "Boris Johnson", "party": "Conservative"},
            cats={"SUPPORT": 0.2, "Oppose": 0.8},
        ),
        make_doc("[Treasury](ORG) .", meta={"id": "3", "speaker": "Keir Starmer"}),
        make_doc("[Treasury](ORG) .", meta={"id": "4"}),
    ]
    network = build_network(extract_network(docs))
    speakers = network.speakers
    assert speakers is not None and speakers.is_directed()
    assert speakers.nodes["speaker:Boris Johnson"]["bipartite"] == 0
    assert speakers.nodes["speaker:Boris Johnson"]["party"] == "Conservative"
    assert speakers.nodes["speaker:Boris Johnson"]["documents"] == 2
    assert speakers.nodes["actor:Keir Starmer"]["bipartite"] == 1
    edge = speakers.edges["speaker:Boris Johnson", "actor:Keir Starmer"]
    assert edge["weight"] == 2 and edge["mentions"] == 3
    assert edge["stance_n"] == 2
    assert edge["stance"] == pytest.approx(0.8 - 0.6)
    assert edge["stance_mean"] == pytest.approx(0.1)
    assert edge["sign"] == 1
    treasury = speakers.edges["speaker:Boris Johnson", "actor:Treasury"]
    assert treasury["sign"] == 1 and treasury["weight"] == 1
    unsigned = speakers.edges["speaker:Keir Starmer", "actor:Treasury"]
    assert (unsigned["stance_n"], unsigned["sign"], unsigned["stance_mean"]) == (0, 0, 0.0)
    assert not speakers.has_edge("actor:Keir Starmer", "speaker:Boris Johnson")
    assert nx.is_bipartite(speakers.to_undirected())


def test_no_speakers_no_speaker_graph():
    network = build_network(extract_network([make_doc("[A A](PERSON) [B B](PERSON) .")]))
    assert network.speakers is None and network.speaker_summary is None


def test_min_count_and_min_mentions():
    docs = [
        make_doc("[A A](PERSON) [B B](PERSON) . [A A](PERSON) [B B](PERSON) . [A A](PERSON) [C C](PERSON) .")
    ]
    aggregate = extract_network(docs)
    assert weights(build_network(aggregate, graph_options=GraphOptions(min_count=2))) == {("A A", "B B"): 2}
    network = build_network(aggregate, graph_options=GraphOptions(min_mentions=2))
    assert set(network.graph.nodes) == {"A A", "B B"}
    assert weights(network) == {("A A", "B B"): 2}


def test_unicode_names():
    docs = [
        make_doc("[Zoë Ng](PERSON) met [Владимир Путин](PERSON) and [习近平](PERSON) .", meta={"id": "ü"}),
        make_doc("[ZOË NG](PERSON) and [Ng](PERSON) with [Владимир Путин](PERSON) ."),
    ]
    network = build_network(extract_network(docs))
    assert set(network.graph.nodes) == {"Zoë Ng", "Владимир Путин", "习近平"}
    assert network.graph.nodes["Zoë Ng"]["mentions"] == 3
    assert weights(network)[("Zoë Ng", "Владимир Путин")] == 2
    assert network.graph.edges["Zoë Ng", "习近平"]["doc_ids"] == ["ü"]


def test_control_characters_are_removed_from_names_and_counted():
    doc = make_doc("[Ann\x07e Smith](PERSON) met [Bo Li](PERSON) .", meta={"id": "x"})
    extraction = extract_doc(doc, ExtractOptions())
    assert [m.key for m in extraction.mentions] == ["anne smith", "bo li"]
    assert extraction.stats["control_chars_removed"] == 1


def test_doc_mentions_and_comention_windows_public_helpers():
    doc = make_doc("[Boris Johnson](PERSON) . ¶ [Johnson](PERSON) met [Ed Davey](PERSON) .")
    stats: Counter = Counter()
    mentions = doc_mentions(doc, ExtractOptions(), stats)
    assert [m.key for m in mentions] == ["boris johnson", "boris johnson", "ed davey"]
    assert stats["mentions"] == 3
    assert comention_windows(doc, mentions, Window("sentence")) == [("boris johnson", "ed davey")]
    assert comention_windows(doc, mentions, Window("paragraph")) == [("boris johnson", "ed davey")]
    assert comention_windows(doc, mentions, Window("document")) == [("boris johnson", "ed davey")]
    assert comention_windows(doc, mentions[:1], Window("document")) == []


_NAMES = st.sampled_from(
    ["Ann Lee", "Lee", "Mr Lee", "Bob Stone", "Stone", "Zoë Ng", "Ng", "Dr. Ng", "ACME", "the Rt Hon Ann Lee"]
)
_PIECES = st.one_of(
    _NAMES.map(lambda name: ("ent", name, "PERSON")),
    _NAMES.map(lambda name: ("ent", name, "ORG")),
    st.just(("ent", "Monday", "DATE")),
    st.just(("word", ".", "")),
    st.just(("word", "¶", "")),
    st.just(("word", "and", "")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(_PIECES, max_size=15), min_size=1, max_size=8),
    st.sampled_from(["sentence", "paragraph", "document", "tokens:3"]),
    st.integers(min_value=1, max_value=8),
)
def test_property_mention_counts_add_up(pieces_per_doc, window, split):
    docs = [
        make_doc(" ".join(f"[{text}]({label})" if kind == "ent" else text for kind, text, label in pieces))
        for pieces in pieces_per_doc
    ]
    options = ExtractOptions(window=Window.parse(window), exclude_labels=frozenset({"DATE"}))
    aggregate = extract_network(docs, options)
    network = build_network(aggregate, options)
    kept = sum(
        1 for pieces in pieces_per_doc for kind, _, label in pieces if kind == "ent" and label != "DATE"
    )
    dropped = sum(1 for pieces in pieces_per_doc for kind, _, label in pieces if label == "DATE")
    assert network.stats["mentions"] == kept
    assert network.stats.get("dropped_label", 0) == dropped
    assert sum(m for _, m in network.graph.nodes(data="mentions")) == kept
    windows = sum(aggregate.windows.values())
    for u, v, data in network.graph.edges(data=True):
        assert u != v
        assert 1 <= data["weight"] <= windows
        assert network.graph.edges[v, u] == data
    first = extract_network(docs[:split], options)
    extract_network(docs[split:], options, aggregate=first)
    assert first == aggregate


def test_repeated_doc_ids_keep_all_evidence_whatever_the_order():
    docs = [
        make_doc(
            "[A A](PERSON) [B B](PERSON) .", meta={"id": "same", "date": "2020-01-01", "speaker": "S S"}
        ),
        make_doc(
            "[A A](PERSON) [B B](PERSON) .", meta={"id": "same", "date": "2021-01-01", "speaker": "S S"}
        ),
    ]
    forward = build_network(extract_network(docs))
    backward = build_network(extract_network(docs[::-1]))
    assert _graph_signature(forward) == _graph_signature(backward)
    edge = forward.graph.edges["A A", "B B"]
    assert (edge["weight"], edge["doc_ids"], edge["dates"]) == (2, ["same"], ["2020-01-01", "2021-01-01"])
    said = forward.speakers.edges["speaker:S S", "actor:A A"]
    assert said["dates"] == ["2020-01-01", "2021-01-01"]
