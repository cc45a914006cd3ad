"""Text-classification readers (JSONL, HanDeSeT, ConVote, SemEval), splits and StanceCorpus."""
import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Corpus

from spacy_bilstm.corpora import (
    grouped_split,
    read_convote,
    read_handeset,
    read_semeval,
    read_textcat,
    read_textcat_jsonl,
    split_docs,
    stratified_split,
)
from spacy_bilstm.corpora.formats import detect_textcat_format
from spacy_bilstm.corpora.splits import split_strategy
from spacy_bilstm.corpora.textcat_sources import HANDESET_COLUMNS
from spacy_bilstm.errors import InputError
from spacy_bilstm.records import RecordReport

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf8") if isinstance(data, str) else data)
    return path


def gold(doc):
    return sorted(label for label, value in doc.cats.items() if value == 1.0)


# --- generic JSONL ------------------------------------------------------------


def test_jsonl_textcat_single_and_multi_label(tmp_path, nlp):
    records = [
        {"text": "We support the motion.", "label": "support", "target": "Motion A", "meta": {"speaker": "X"}},
        {"text": "No.", "label": "oppose"},
        {"text": "Both, somehow.", "labels": ["oppose", "neutral"]},
    ]
    path = write(tmp_path, "tc.jsonl", "\n".join(json.dumps(r) for r in records))
    report = RecordReport()
    docs = list(read_textcat_jsonl(path, nlp, report=report))
    assert [d.cats for d in docs] == [
        {"neutral": 0.0, "oppose": 0.0, "support": 1.0},
        {"neutral": 0.0, "oppose": 1.0, "support": 0.0},
        {"neutral": 1.0, "oppose": 1.0, "support": 0.0},
    ]
    assert [d._.stance_target for d in docs] == ["Motion A", None, None]
    assert docs[0]._.meta == {"speaker": "X", "source": str(path), "line": 1}
    assert docs[0].text == "We support the motion."
    assert (report.read, report.used) == (3, 3)


def test_jsonl_textcat_explicit_labels(tmp_path, nlp):
    path = write(tmp_path, "tc.jsonl", '{"text": "a", "label": "yes"}\n{"text": "b", "label": "maybe"}\n')
    with pytest.raises(InputError) as info:
        list(read_textcat_jsonl(path, nlp, labels=["yes", "no"]))
    assert (info.value.reason, info.value.line) == ("unknown_label", 2)
    report = RecordReport(skip_invalid=True)
    docs = list(read_textcat_jsonl(path, nlp, labels=["yes", "no"], report=report))
    assert [d.cats for d in docs] == [{"yes": 1.0, "no": 0.0}]
    assert dict(report.skipped) == {"unknown_label": 1}


BAD_TEXTCAT = [
    ('{"text": "", "label": "a"}', "empty_text"),
    ('{"text": " \\n ", "label": "a"}', "empty_text"),
    ('{"label": "a"}', "missing_text"),
    ('{"text": ["x"], "label": "a"}', "bad_text"),
    ('{"text": "x", "label": 1}', "bad_label"),
    ('{"text": "x", "label": null}', "bad_label"),
    ('{"text": "x", "labels": "a"}', "bad_label"),
    ('{"text": "x", "labels": ["a", 2]}', "bad_label"),
    ('{"text": "x", "label": "a", "labels": ["a"]}', "bad_label"),
    ('{"text": "x"}', "missing_label"),
    ('{"text": "x", "label": "a", "target": 3}', "bad_target"),
    ('{"text": "x", "label": "a", "meta": "m"}', "bad_meta"),
    ("[1, 2]", "not_object"),
    ("{", "invalid_json"),
]


@pytest.mark.parametrize("bad,reason", BAD_TEXTCAT, ids=[r for _, r in BAD_TEXTCAT])
def test_jsonl_textcat_malformed(tmp_path, nlp, bad, reason):
    good = '{"text": "fine", "label": "a"}'
    path = write(tmp_path, "bad.jsonl", f"{good}\n{bad}\n{good}\n")
    with pytest.raises(InputError) as info:
        list(read_textcat_jsonl(path, nlp))
    assert (info.value.reason, info.value.line, info.value.path) == (reason, 2, str(path))
    report = RecordReport(skip_invalid=True)
    docs = list(read_textcat_jsonl(path, nlp, report=report))
    assert [d.cats for d in docs] == [{"a": 1.0}, {"a": 1.0}]
    assert (report.read, report.used, dict(report.skipped)) == (3, 2, {reason: 1})


# --- HanDeSeT -------------------------------------------------------------------


def handeset_csv(rows) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HANDESET_COLUMNS)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode("utf8")


def handeset_row(debate, utts, manual="1", vote="1", title="Title", motion="That this House ...", name="A. Member"):
    utts = list(utts) + [""] * (5 - len(utts))
    return [debate, title, motion, "1", "0", "Lab", *utts, manual, vote, "Con", name, "2.5"]


def test_handeset_synthetic(tmp_path, nlp):
    rows = [
        handeset_row("76", ["First\nline.", "", "Third."], manual="0", vote="1", title="Two\nlines – dash"),
        handeset_row("129", ["Same debate."], manual="1", vote="0"),
        handeset_row("5", ["Other."]),
    ]
    path = write(tmp_path, "h.csv", handeset_csv(rows))
    report = RecordReport()
    docs = list(read_handeset(path, nlp, report=report))
    assert [d.text for d in docs] == ["First\nline.\nThird.", "Same debate.", "Other."]
    assert [d.cats for d in docs] == [
        {"oppose": 1.0, "support": 0.0},
        {"oppose": 0.0, "support": 1.0},
        {"oppose": 0.0, "support": 1.0},
    ]
    assert docs[0]._.stance_target == "That this House ..."
    assert docs[0]._.meta == {
        "source": str(path),
        "line": 2,
        "debate_id": "76",
        "group": "76+129",
        "title": "Two\nlines – dash",
        "party": "Con",
        "speaker": "A. Member",
        "vote_speech": 1,
        "manual_motion": 1,
        "govt_opp_motion": 0,
        "rebellion": 2.5,
    }
    # Record 1 spans lines 2-4 (two embedded newlines), so record 2 starts on line 5.
    assert [d._.meta["line"] for d in docs] == [2, 5, 6]
    assert [d._.meta["group"] for d in docs] == ["76+129", "76+129", "5"]
    votes = list(read_handeset(path, nlp, label_column="vote speech"))
    assert [gold(d) for d in votes] == [["support"], ["oppose"], ["support"]]


@pytest.mark.parametrize(
    "row,reason",
    [
        (handeset_row("1", ["x"], manual="2"), "bad_label"),
        (handeset_row("1", ["", " "]), "empty_text"),
        (handeset_row("1", ["x"])[:-1], "column_count"),
        (handeset_row("1", ["x"])[:-1] + ["n/a"], "bad_field"),
    ],
)
def test_handeset_malformed(tmp_path, nlp, row, reason):
    path = write(tmp_path, "h.csv", handeset_csv([handeset_row("1", ["ok"]), row, handeset_row("2", ["ok"])]))
    with pytest.raises(InputError) as info:
        list(read_handeset(path, nlp))
    assert (info.value.reason, info.value.line) == (reason, 3)
    report = RecordReport(skip_invalid=True)
    assert len(list(read_handeset(path, nlp, report=report))) == 2
    assert (report.read, report.used, dict(report.skipped)) == (3, 2, {reason: 1})


def test_handeset_bad_bytes_inside_multiline_record(tmp_path, nlp):
    data = handeset_csv([handeset_row("1", ["ok"]), handeset_row("2", ["a\nb\nBAD"]), handeset_row("3", ["ok"])])
    data = data.replace(b"BAD", b"B\xffD")
    path = write(tmp_path, "h.csv", data)
    with pytest.raises(InputError) as info:
        list(read_handeset(path, nlp))
    # The record starts on line 3; the bad byte is on its third line.
    assert (info.value.reason, info.value.line) == ("invalid_utf8", 5)
    report = RecordReport(skip_invalid=True)
    docs = list(read_handeset(path, nlp, report=report))
    assert [d._.meta["debate_id"] for d in docs] == ["1", "3"]
    assert [d._.meta["line"] for d in docs] == [2, 6]


def test_handeset_bad_header(tmp_path, nlp):
    path = write(tmp_path, "h.csv", "id,title\n1,x\n")
    with pytest.raises(InputError) as info:
        list(read_handeset(path, nlp))
    assert (info.value.reason, info.value.line) == ("bad_header", 1)


def test_handeset_header_only(tmp_path, nlp):
    path = write(tmp_path, "h.csv", handeset_csv([]))
    with pytest.raises(InputError) as info:
        list(read_handeset(path, nlp))
    assert info.value.reason == "no_records"


# --- ConVote / SemEval --------------------------------------------------------------

CONVOTE_HEADER = "split\tfile\tbill\tspeaker\tpage\tposition\tparty\tmention\tvote\ttext\n"


def test_convote_synthetic(tmp_path, nlp):
    rows = [
        "training\t006_400009_0002057_DON.txt\t006\t400009\t0002\t057\tD\tO\tN\tmr. speaker , i rise in opposition .  ",
        "training\t006_400011_0002002_RMY.txt\t006\t400011\t0002\t002\tR\tM\tY\ti support \"this\" bill .",
        "training\tx.txt\t007\t1\t0\t0\tD\tO\tMAYBE\ttext",
        "training\tshort",
    ]
    path = write(tmp_path, "c.tsv", CONVOTE_HEADER + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as info:
        list(read_convote(path, nlp))
    assert (info.value.reason, info.value.line) == ("bad_label", 4)
    report = RecordReport(skip_invalid=True)
    docs = list(read_convote(path, nlp, report=report))
    assert [gold(d) for d in docs] == [["oppose"], ["support"]]
    assert docs[1].text == 'i support "this" bill .'
    assert [d._.stance_target for d in docs] == [None, None]
    assert docs[1]._.meta == {
        "source": str(path),
        "line": 3,
        "bill": "006",
        "group": "006",
        "speaker": "400011",
        "party": "R",
        "file": "006_400011_0002002_RMY.txt",
        "mention": "M",
        "split": "training",
    }
    assert (report.read, report.used, dict(report.skipped)) == (4, 2, {"bad_label": 1, "column_count": 1})


def test_semeval_synthetic_cp1252(tmp_path, nlp):
    text = (
        "ID\tTarget\tTweet\tStance\r\n"
        "101\tAtheism\tGod\u2019s blessings \u2013 #SemST\tAGAINST\r\n"
        "102\tHillary Clinton\tvote \"her\" #SemST\tFAVOR\r\n"
        "103\tHillary Clinton\tmeh #SemST\tUNKNOWN\r\n"
    )
    path = write(tmp_path, "s.txt", text.encode("cp1252"))
    assert detect_textcat_format(path) == "semeval"
    report = RecordReport(skip_invalid=True)
    docs = list(read_semeval(path, nlp, report=report))
    assert docs[0].text == "God\u2019s blessings \u2013 #SemST"
    assert [d.cats for d in docs] == [
        {"AGAINST": 1.0, "FAVOR": 0.0, "NONE": 0.0},
        {"AGAINST": 0.0, "FAVOR": 1.0, "NONE": 0.0},
    ]
    assert [d._.stance_target for d in docs] == ["Atheism", "Hillary Clinton"]
    assert docs[1]._.meta == {
        "source": str(path),
        "line": 3,
        "id": "102",
        "group": "102",
        "stratum": "Hillary Clinton|FAVOR",
    }
    assert dict(report.skipped) == {"bad_label": 1}
    # Read as UTF-8 the cp1252 quotes are undecodable: a malformed record, not garbage.
    with pytest.raises(InputError) as info:
        list(read_semeval(path, nlp, encoding="utf-8"))
    assert (info.value.reason, info.value.line) == ("invalid_utf8", 2)


def test_read_textcat_detects_formats(tmp_path, nlp):
    handeset = write(tmp_path, "h.csv", handeset_csv([handeset_row("1", ["ok"])]))
    convote = write(tmp_path, "c.tsv", CONVOTE_HEADER + "training\tf\t1\t2\t3\t4\tD\tO\tY\tyes .\n")
    jsonl = write(tmp_path, "j.txt", '{"text": "x", "label": "a"}\n')
    unknown = write(tmp_path, "u.txt", "just some text\n")
    assert [detect_textcat_format(p) for p in (handeset, convote, jsonl)] == ["handeset", "convote", "jsonl"]
    assert [gold(d) for d in read_textcat(convote, nlp)] == [["support"]]
    with pytest.raises(InputError) as info:
        read_textcat(unknown, nlp)
    assert info.value.reason == "unknown_format"
    with pytest.raises(InputError, match=r"h\.csv: a label set can only be given for JSONL"):
        read_textcat(handeset, nlp, labels=["a"])


# --- splits ---------------------------------------------------------------------------


def test_grouped_split_keeps_groups_whole_and_is_deterministic():
    items = [(g, i) for g in range(20) for i in range(g % 4 + 1)]
    train, dev = grouped_split(items, lambda x: x[0], 0.25, seed=3)
    assert sorted(train + dev) == sorted(items)
    assert not {g for g, _ in train} & {g for g, _ in dev}
    assert abs(len(dev) - 0.25 * len(items)) <= 2
    assert (train, dev) == grouped_split(items, lambda x: x[0], 0.25, seed=3)
    # The same groups go to dev whatever the input order.
    train_r, dev_r = grouped_split(items[::-1], lambda x: x[0], 0.25, seed=3)
    assert sorted(dev_r) == sorted(dev)
    assert dev != grouped_split(items, lambda x: x[0], 0.25, seed=4)[1]


def test_grouped_split_both_sides_non_empty():
    items = ["a"] * 10 + ["b"] * 10
    train, dev = grouped_split(items, lambda x: x, 0.1, seed=0)
    assert len(train) == 10 and len(dev) == 10 and len(set(dev)) == 1
    with pytest.raises(ValueError, match="dev_fraction must be between 0 and 1"):
        grouped_split(items, lambda x: x, 0.0)


def test_stratified_split_shares():
    items = [("A", i) for i in range(50)] + [("B", i) for i in range(30)] + [("C", i) for i in range(20)]
    train, dev = stratified_split(items, lambda x: x[0], 0.2, seed=1)
    assert Counter(s for s, _ in dev) == Counter({"A": 10, "B": 6, "C": 4})
    assert sorted(train + dev) == sorted(items)
    assert (train, dev) == stratified_split(items, lambda x: x[0], 0.2, seed=1)
    assert [x for x in items if x in set(dev)] == dev


# --- real corpora -----------------------------------------------------------------------


def shared_file(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def test_real_handeset(nlp):
    path = shared_file("handeset/HanDeSeT.csv")
    report = RecordReport()
    docs = list(read_handeset(path, nlp, report=report))
    assert (report.read, report.used, len(docs)) == (1010, 1010, 1010)
    assert Counter(gold(d)[0] for d in docs) == {"support": 566, "oppose": 444}
    assert Counter(d._.meta["vote_speech"] for d in docs) == {1: 573, 0: 437}
    assert len({d._.meta["debate_id"] for d in docs}) == 103
    assert len({d._.meta["group"] for d in docs}) == 102
    assert all(d._.stance_target for d in docs)
    assert split_strategy(docs) == "group"
    train, dev = split_docs(docs, 0.2, seed=0)
    assert len(train) + len(dev) == 1010
    assert not {d._.meta["debate_id"] for d in train} & {d._.meta["debate_id"] for d in dev}
    in_dev = {d._.meta["debate_id"] in {"76", "129"} for d in dev}
    merged_ids = {d._.meta["debate_id"] for d in (dev if True in in_dev else train)}
    assert {"76", "129"} <= merged_ids


def test_real_convote(nlp):
    path = shared_file("convote/convote_stage3.tsv")
    report = RecordReport()
    docs = list(read_convote(path, nlp, report=report))
    assert (report.read, report.used) == (2740, 2740)
    assert Counter(gold(d)[0] for d in docs) == {"support": 1436, "oppose": 1304}
    assert len({d._.meta["group"] for d in docs}) == 38
    train, dev = split_docs(docs, 0.2, seed=0)
    assert not {d._.meta["bill"] for d in train} & {d._.meta["bill"] for d in dev}
    assert 0.15 < len(dev) / len(docs) < 0.25


SEMEVAL_TABLE = {
    ("Atheism", "AGAINST"): 304, ("Atheism", "FAVOR"): 92, ("Atheism", "NONE"): 117,
    ("Climate Change is a Real Concern", "AGAINST"): 15,
    ("Climate Change is a Real Concern", "FAVOR"): 212,
    ("Climate Change is a Real Concern", "NONE"): 168,
    ("Feminist Movement", "AGAINST"): 328, ("Feminist Movement", "FAVOR"): 210,
    ("Feminist Movement", "NONE"): 126,
    ("Hillary Clinton", "AGAINST"): 361, ("Hillary Clinton", "FAVOR"): 112,
    ("Hillary Clinton", "NONE"): 166,
    ("Legalization of Abortion", "AGAINST"): 334, ("Legalization of Abortion", "FAVOR"): 105,
    ("Legalization of Abortion", "NONE"): 164,
}


def test_real_semeval(nlp):
    path = shared_file("semeval2016_task6/semeval2016-task6-trainingdata.txt")
    report = RecordReport()
    docs = list(read_textcat(path, nlp, report=report))
    assert (report.read, report.used) == (2814, 2814)
    assert Counter((d._.stance_target, gold(d)[0]) for d in docs) == SEMEVAL_TABLE
    assert all(d.text.endswith("#SemST") for d in docs)
    assert split_strategy(docs) == "stratum"
    train, dev = split_docs(docs, 0.2, seed=0)
    dev_counts = Counter((d._.stance_target, gold(d)[0]) for d in dev)
    for key, total in SEMEVAL_TABLE.items():
        assert abs(dev_counts[key] - 0.2 * total) <= 1


# --- StanceCorpus -----------------------------------------------------------------------


def test_stance_corpus_copies_target_and_meta(tmp_path, nlp):
    records = [
        {"text": "I back this bill. It is good.", "label": "support", "target": "Bill 7", "meta": {"group": "g1"}},
        {"text": "Never.", "label": "oppose", "target": "Bill 8"},
    ]
    path = write(tmp_path, "tc.jsonl", "\n".join(json.dumps(r) for r in records))
    docbin = DocBin(store_user_data=True, docs=read_textcat_jsonl(path, nlp))
    docbin.to_disk(tmp_path / "train.spacy")
    reader = spacy.registry.resolve(
        {"r": {"@readers": "spacy_bilstm.StanceCorpus.v1", "path": str(tmp_path / "train.spacy")}}
    )["r"]
    examples = list(reader(nlp))
    assert [eg.predicted._.stance_target for eg in examples] == ["Bill 7", "Bill 8"]
    assert [eg.reference._.stance_target for eg in examples] == ["Bill 7", "Bill 8"]
    assert examples[0].predicted._.meta == {"group": "g1", "source": str(path), "line": 1}
    assert [eg.reference.cats for eg in examples] == [
        {"oppose": 0.0, "support": 1.0},
        {"oppose": 1.0, "support": 0.0},
    ]
    # spaCy's own Corpus loses the extension on the predicted Doc: the reason for this reader.
    plain = Corpus(tmp_path / "train.spacy")
    assert [eg.predicted._.stance_target for eg in plain(nlp)] == [None, None]


def test_stance_corpus_ner_docbin_with_sentence_splitting(tmp_path, nlp):
    from spacy_bilstm.corpora import read_conll_ner

    conll = "-DOCSTART- O\n\nAngela B-PER\nMerkel I-PER\nspoke O\n\nin O\nParis B-LOC\n"
    src = write(tmp_path, "a.conll", conll)
    docbin = DocBin(store_user_data=True, docs=read_conll_ner(src, nlp.vocab, n_sents=2))
    docbin.to_disk(tmp_path / "ner.spacy")
    reader = spacy.registry.resolve(
        {"r": {"@readers": "spacy_bilstm.StanceCorpus.v1", "path": str(tmp_path / "ner.spacy"), "max_length": 4}}
    )["r"]
    examples = list(reader(nlp))
    assert [[(e.text, e.label_) for e in eg.reference.ents] for eg in examples] == [
        [("Angela Merkel", "PER")],
        [("Paris", "LOC")],
    ]
    assert [eg.predicted._.meta for eg in examples] == [{"source": str(src), "doc": 0, "line": 3}] * 2


def test_embedded_speeches_split_by_debate():
    """The shipped corpus names its debates under meta "group", so that the
    quickstart's dev split and cross-validation folds keep them whole."""
    from spacy_bilstm.corpora import split_docs
    from spacy_bilstm.corpora.splits import split_strategy

    path = Path(__file__).resolve().parents[1] / "corpus" / "speeches.jsonl"
    docs = list(read_textcat_jsonl(path, spacy.blank("en")))
    assert len(docs) == 240
    assert all(d._.meta["group"] == d._.meta["debate_id"] for d in docs)
    assert split_strategy(docs) == "group"
    train, dev = split_docs(docs, 0.2, seed=0)
    assert not {d._.meta["debate_id"] for d in train} & {d._.meta["debate_id"] for d in dev}
