"""NER readers: CoNLL (IOB1 / BIO / BILUO) and JSONL, decoding, malformed records."""
import json
from collections import Counter
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
from spacy.vocab import Vocab

from spacy_bilstm.corpora import decode_tags, read_conll_ner, read_jsonl_ner, read_ner
from spacy_bilstm.corpora.conll import SchemeEvidence, detect_scheme, read_conll_evidence
from spacy_bilstm.corpora.decoding import iter_lines
from spacy_bilstm.corpora.formats import detect_ner_format
from spacy_bilstm.errors import InputError
from spacy_bilstm.records import RecordReport

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf8")
    path.write_bytes(data)
    return path


def ents(doc) -> List[Tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in doc.ents]


def conll(rows: str) -> str:
    """Space-separated 2-column CoNLL from 'tok TAG' lines ('|' = blank line)."""
    return "\n".join("" if r.strip() == "|" else r.strip() for r in rows.strip().splitlines()) + "\n"


# --- tag decoding ------------------------------------------------------------


def test_decode_tags_iob1_and_bio_agree_where_both_valid():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    expected = [(0, 2, "PER"), (3, 4, "LOC"), (4, 6, "LOC")]
    assert decode_tags(tags, "bio") == expected
    assert decode_tags(tags, "iob1") == expected


def test_decode_tags_iob1_i_starts_entity():
    tags = ["I-ORG", "O", "I-PER", "I-PER", "B-PER", "I-MISC"]
    assert decode_tags(tags, "iob1") == [(0, 1, "ORG"), (2, 4, "PER"), (4, 5, "PER"), (5, 6, "MISC")]


@pytest.mark.parametrize(
    "tags,index",
    [(["I-PER"], 0), (["O", "I-PER"], 1), (["B-LOC", "I-PER"], 1), (["B-PER", "O", "I-PER"], 2)],
)
def test_decode_tags_bio_i_without_b(tags, index):
    with pytest.raises(ValueError) as info:
        decode_tags(tags, "bio")
    assert info.value.reason == "i_without_b"
    assert info.value.index == index


def test_decode_tags_biluo_and_bioes():
    tags = ["B-PER", "I-PER", "L-PER", "O", "U-LOC", "B-ORG", "L-ORG"]
    expected = [(0, 3, "PER"), (4, 5, "LOC"), (5, 7, "ORG")]
    assert decode_tags(tags, "biluo") == expected
    bioes = [t.replace("L-", "E-").replace("U-", "S-") for t in tags]
    assert decode_tags(bioes, "biluo") == expected


@pytest.mark.parametrize(
    "tags,reason,index",
    [
        (["B-PER", "O"], "unclosed_entity", 1),
        (["B-PER"], "unclosed_entity", 0),
        (["B-PER", "B-PER", "L-PER"], "unclosed_entity", 1),
        (["L-PER"], "i_without_b", 0),
        (["B-PER", "I-LOC", "L-LOC"], "i_without_b", 1),
    ],
)
def test_decode_tags_biluo_errors(tags, reason, index):
    with pytest.raises(ValueError) as info:
        decode_tags(tags, "biluo")
    assert (info.value.reason, info.value.index) == (reason, index)


@pytest.mark.parametrize("tag", ["B-", "X-PER", "B-PER-", "-PER", "b-per", "B--PER", "B-P ER", "I", "o"])
def test_decode_tags_bad_tag(tag):
    with pytest.raises(ValueError) as info:
        decode_tags(["O", tag], "iob1")
    assert info.value.reason == "bad_tag"
    assert info.value.index == 1


def test_decode_tags_hyphenated_label():
    assert decode_tags(["B-creative-work", "I-creative-work"], "bio") == [(0, 2, "creative-work")]


def test_decode_tags_biluo_prefix_outside_biluo_is_bad_tag():
    with pytest.raises(ValueError) as info:
        decode_tags(["U-PER"], "bio")
    assert info.value.reason == "bad_tag"


@pytest.mark.parametrize(
    "evidence,scheme",
    [
        (SchemeEvidence(), "bio"),
        (SchemeEvidence(i_starts=5), "iob1"),
        (SchemeEvidence(b_starts=5), "bio"),
        (SchemeEvidence(i_starts=23427, b_starts=2), "iob1"),
        (SchemeEvidence(i_starts=1, b_starts=830), "bio"),
        (SchemeEvidence(i_starts=1, b_starts=1), "bio"),
        (SchemeEvidence(biluo_prefix=True, i_starts=9), "biluo"),
    ],
)
def test_detect_scheme(evidence, scheme):
    assert detect_scheme(evidence) == scheme


# --- CoNLL files ----------------------------------------------------------------

IOB1_FILE = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- O O

BRUSSELS NNP I-NP I-LOC
1996-08-22 CD I-NP O

Spain NNP I-NP I-LOC
Italy NNP I-NP B-LOC
"""


def test_conll_iob1_file(tmp_path):
    path = write(tmp_path, "eng.iob1", IOB1_FILE)
    report = RecordReport()
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == [
        [("EU", "ORG"), ("German", "MISC")],
        [("Peter Blackburn", "PER")],
        [("BRUSSELS", "LOC")],
        [("Spain", "LOC"), ("Italy", "LOC")],
    ]
    assert [d._.meta for d in docs] == [
        {"source": str(path), "doc": 0, "line": 3},
        {"source": str(path), "doc": 0, "line": 8},
        {"source": str(path), "doc": 1, "line": 13},
        {"source": str(path), "doc": 1, "line": 16},
    ]
    assert [t.text for t in docs[0]] == ["EU", "rejects", "German", "call"]
    assert (report.read, report.used, report.n_skipped) == (4, 4, 0)


def test_conll_n_sents_respects_docstart_and_sets_sentences(tmp_path):
    path = write(tmp_path, "eng.iob1", IOB1_FILE)
    docs = list(read_conll_ner(path, Vocab(), n_sents=3))
    # Two documents of two sentences each: -DOCSTART- ends a Doc early.
    assert len(docs) == 2
    assert [s.text.strip() for s in docs[0].sents] == ["EU rejects German call", "Peter Blackburn"]
    assert ents(docs[1]) == [("BRUSSELS", "LOC"), ("Spain", "LOC"), ("Italy", "LOC")]
    assert [d._.meta["doc"] for d in docs] == [0, 1]
    assert docs[1][2].is_sent_start and not docs[1][1].is_sent_start


def test_conll_bio_rejects_i_without_b(tmp_path):
    text = conll("Angela B-PER\nMerkel I-PER\n|\nin O\nParis I-LOC\nnow O\n|\nBerlin B-LOC")
    path = write(tmp_path, "bio.conll", text)
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert info.value.reason == "i_without_b"
    assert info.value.line == 5
    assert str(info.value).startswith(f"{path}:5: ")
    # Skipping drops exactly that sentence and accounts for it.
    report = RecordReport(skip_invalid=True)
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == [[("Angela Merkel", "PER")], [("Berlin", "LOC")]]
    assert (report.read, report.used, dict(report.skipped)) == (3, 2, {"i_without_b": 1})
    assert report.is_balanced()
    # Read as IOB1 on request, the same I-LOC starts an entity.
    docs = list(read_conll_ner(path, Vocab(), scheme="iob1"))
    assert [ents(d) for d in docs][1] == [("Paris", "LOC")]


def test_conll_tab_separated_biluo(tmp_path):
    text = "New York\tB-LOC\nCity\tL-LOC\nis\tO\nbig\tU-MISC\n\nObama\tU-PER\n"
    path = write(tmp_path, "biluo.tsv", text)
    assert detect_scheme(read_conll_evidence(path)) == "biluo"
    docs = list(read_conll_ner(path, Vocab()))
    assert [ents(d) for d in docs] == [[("New York City", "LOC"), ("big", "MISC")], [("Obama", "PER")]]
    assert docs[0][0].text == "New York"


def test_conll_space_separated_keeps_other_whitespace_in_tokens(tmp_path):
    path = write(tmp_path, "nbsp.conll", "10\u00a0000 NN B-MONEY\nDM  NN\tI-MONEY\n")
    (doc,) = read_conll_ner(path, Vocab())
    assert [t.text for t in doc] == ["10\u00a0000", "DM"]
    assert ents(doc) == [("10\u00a0000 DM", "MONEY")]


@pytest.mark.parametrize("tag", ["B-", "X-PER", "B-PER-", "PER"])
def test_conll_bad_tag_names_file_and_line(tmp_path, tag):
    path = write(tmp_path, "bad.conll", conll(f"a O\nb B-PER\n|\nc {tag}\nd O"))
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert (info.value.reason, info.value.line, info.value.path) == ("bad_tag", 4, str(path))


def test_conll_column_count(tmp_path):
    path = write(tmp_path, "cols.conll", "a NN O\nb NN B-PER\n\nc B-PER\nd NN O\n")
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert (info.value.reason, info.value.line) == ("column_count", 4)
    report = RecordReport(skip_invalid=True)
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == [[("b", "PER")]]
    assert (report.read, report.used, dict(report.skipped)) == (2, 1, {"column_count": 1})


def test_conll_skip_counts_add_up(tmp_path):
    text = conll(
        "a B-PER\n|\nb X-PER\n|\nc O\nd I-LOC\n|\ne B-LOC\n|\nf O O\n|\ng B-ORG\nh I-ORG"
    )
    path = write(tmp_path, "mixed.conll", text)
    report = RecordReport(skip_invalid=True)
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == [[("a", "PER")], [("e", "LOC")], [("g h", "ORG")]]
    assert report.read == 6 and report.used == 3
    assert dict(report.skipped) == {"bad_tag": 1, "i_without_b": 1, "column_count": 1}
    assert report.is_balanced()


def test_conll_only_docstart_is_no_records(tmp_path):
    path = write(tmp_path, "empty.conll", "-DOCSTART- -X- O O\n\n")
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert info.value.reason == "no_records"


def test_conll_bad_options(tmp_path):
    path = write(tmp_path, "a.conll", "a O\n")
    with pytest.raises(InputError, match=r"a\.conll: unknown tag scheme 'iob2'"):
        list(read_conll_ner(path, Vocab(), scheme="iob2"))
    with pytest.raises(InputError, match=r"a\.conll: n_sents must be at least 1, not 0"):
        list(read_conll_ner(path, Vocab(), n_sents=0))


# --- decoding --------------------------------------------------------------------

SIMPLE = "Angela B-PER\nMerkel I-PER\nspoke O\n\nParis B-LOC\n"
SIMPLE_ENTS = [[("Angela Merkel", "PER")], [("Paris", "LOC")]]


@pytest.mark.parametrize(
    "data",
    [
        SIMPLE.encode("utf8"),
        b"\xef\xbb\xbf" + SIMPLE.encode("utf8"),
        SIMPLE.replace("\n", "\r\n").encode("utf8"),
        SIMPLE.replace("\n", "\r").encode("utf8"),
        SIMPLE.encode("utf-16"),
        "\ufeff".encode("utf-16-be") + SIMPLE.encode("utf-16-be"),
        "\ufeff".encode("utf-16-le") + SIMPLE.replace("\n", "\r\n").encode("utf-16-le"),
        SIMPLE.encode("utf-32"),
    ],
    ids=["utf8", "utf8-bom", "crlf", "cr", "utf16", "utf16-be", "utf16-le-crlf", "utf32"],
)
def test_conll_encodings_and_line_endings(tmp_path, data):
    path = write(tmp_path, "enc.conll", data)
    report = RecordReport()
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == SIMPLE_ENTS
    assert docs[0][0].text == "Angela"
    assert [d._.meta["line"] for d in docs] == [1, 5]


@pytest.mark.parametrize(
    "bad,reason",
    [(b"Mer\x00kel I-PER\n", "nul_byte"), (b"Mer\xffkel I-PER\n", "invalid_utf8"), (b"M\xe2\x82 I-PER\n", "invalid_utf8")],
)
def test_conll_bad_bytes_are_malformed_records(tmp_path, bad, reason):
    data = b"Angela B-PER\n" + bad + b"spoke O\n\nParis B-LOC\n"
    path = write(tmp_path, "bad.conll", data)
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert (info.value.reason, info.value.line) == (reason, 2)
    report = RecordReport(skip_invalid=True)
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert [ents(d) for d in docs] == [[("Paris", "LOC")]]
    assert (report.read, report.used, dict(report.skipped)) == (2, 1, {reason: 1})


def test_explicit_encoding(tmp_path):
    path = write(tmp_path, "latin.conll", "Zürich B-LOC\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab()))
    assert info.value.reason == "invalid_utf8"
    docs = list(read_conll_ner(path, Vocab(), encoding="latin-1"))
    assert ents(docs[0]) == [("Zürich", "LOC")]
    with pytest.raises(InputError) as info:
        list(read_conll_ner(path, Vocab(), encoding="no-such-codec"))
    assert info.value.reason == "bad_argument"


def test_undecodable_with_explicit_encoding(tmp_path):
    # 0x81 is undefined in cp1252.
    path = write(tmp_path, "cp.conll", b"a O\n\nb\x81 O\n")
    report = RecordReport(skip_invalid=True)
    docs = list(read_conll_ner(path, Vocab(), encoding="cp1252", report=report))
    assert len(docs) == 1 and dict(report.skipped) == {"invalid_encoding": 1}


@pytest.mark.parametrize("data", [b"", b"   \n\n\t\r\n", b"\xef\xbb\xbf", "\n \n".encode("utf-16")])
def test_empty_files(tmp_path, nlp, data):
    path = write(tmp_path, "empty.txt", data)
    for read in (lambda: read_conll_ner(path, Vocab()), lambda: read_jsonl_ner(path, nlp)):
        with pytest.raises(InputError) as info:
            list(read())
        assert str(info.value) == f"{path}: empty file, no records"
        assert info.value.reason == "empty_file"


def test_missing_file_and_directory(tmp_path, nlp):
    with pytest.raises(InputError) as info:
        list(read_conll_ner(tmp_path / "nope.conll", Vocab()))
    assert info.value.reason == "missing_file"
    with pytest.raises(InputError) as info:
        list(read_jsonl_ner(tmp_path, nlp))
    assert info.value.reason == "not_a_file"


def test_iter_lines_numbers_and_errors(tmp_path):
    path = write(tmp_path, "lines.txt", b"a\r\nb\rc\n\x00d\ne\xff\n")
    lines = list(iter_lines(path))
    assert [(ln.number, ln.text) for ln in lines] == [(1, "a"), (2, "b"), (3, "c"), (4, "\ufffdd"), (5, "e\ufffd")]
    assert [ln.error.reason if ln.error else None for ln in lines] == [None, None, None, "nul_byte", "invalid_utf8"]
    assert str(lines[3].error).startswith(f"{path}:4: NUL byte")


def test_five_megabyte_line(tmp_path, nlp):
    token = "x" * 5_000_000
    path = write(tmp_path, "long.conll", f"a O\n{token} B-LOC\nb O\n")
    (doc,) = read_conll_ner(path, Vocab())
    assert len(doc) == 3 and doc.ents[0].label_ == "LOC" and len(doc.ents[0].text) == 5_000_000
    text = "word " * 1_000_000 + "Paris"
    record = {"text": text, "spans": [[len(text) - 5, len(text), "LOC"]]}
    path = write(tmp_path, "long.jsonl", json.dumps(record) + "\n")
    (doc,) = read_jsonl_ner(path, nlp)
    assert len(doc) == 1_000_001 and ents(doc) == [("Paris", "LOC")]


# --- JSONL ---------------------------------------------------------------------------


def test_jsonl_ner_records(tmp_path, nlp):
    records = [
        {"text": "Angela Merkel visited Paris.", "spans": [{"start": 0, "end": 13, "label": "PER"}, [22, 27, "LOC"]], "meta": {"id": 7}},
        {"text": "No entities here."},
        {"text": "The EU met.", "entities": [[4, 6, "ORG"]]},
        {"text": "New  York", "tokens": ["New", "York"], "spans": [[0, 9, "LOC"]]},
    ]
    path = write(tmp_path, "ner.jsonl", "\n".join(json.dumps(r) for r in records) + "\n\n")
    report = RecordReport()
    docs = list(read_jsonl_ner(path, nlp, report=report))
    assert [ents(d) for d in docs] == [
        [("Angela Merkel", "PER"), ("Paris", "LOC")],
        [],
        [("EU", "ORG")],
        [("New  York", "LOC")],
    ]
    assert docs[0]._.meta == {"id": 7, "source": str(path), "line": 1}
    assert [t.ent_iob_ for t in docs[1]] == ["O", "O", "O", "O"]
    assert [t.text for t in docs[3]] == ["New", " ", "York"]
    assert (report.read, report.used) == (4, 4)


BAD_JSONL = [
    ('["a list"]', "not_object"),
    ("{not json", "invalid_json"),
    ('{"spans": []}', "missing_text"),
    ('{"text": 5}', "bad_text"),
    ('{"text": "   "}', "empty_text"),
    ('{"text": "Paris", "spans": [[0, 5, 3]]}', "bad_label"),
    ('{"text": "Paris", "spans": [[0, 5, ""]]}', "bad_label"),
    ('{"text": "Paris", "spans": [[0, 6, "LOC"]]}', "offset_out_of_range"),
    ('{"text": "Paris", "spans": [[-1, 5, "LOC"]]}', "offset_out_of_range"),
    ('{"text": "Paris", "spans": [[3, 3, "LOC"]]}', "empty_span"),
    ('{"text": "Paris", "spans": [[4, 2, "LOC"]]}', "empty_span"),
    ('{"text": "New York", "spans": [[0, 8, "LOC"], [4, 8, "GPE"]]}', "overlapping_spans"),
    ('{"text": "Paris", "spans": [[0, 3, "LOC"]]}', "misaligned_span"),
    ('{"text": "Paris", "spans": [[0.0, 5, "LOC"]]}', "bad_span"),
    ('{"text": "Paris", "spans": [[0, 5]]}', "bad_span"),
    ('{"text": "Paris", "spans": {"start": 0}}', "bad_spans"),
    ('{"text": "Paris", "spans": [], "entities": []}', "bad_spans"),
    ('{"text": "Paris", "meta": [1]}', "bad_meta"),
    ('{"text": "a b", "tokens": ["a", "c"]}', "tokens_mismatch"),
    ('{"text": "a b", "tokens": "a b"}', "bad_tokens"),
    ('{"text": "bad \\ud800 escape"}', "invalid_unicode"),
    ('{"text": "Paris", "meta": {"id": 100000000000000000000}}', "number_out_of_range"),
    ('{"text": "Paris", "meta": ' + "[" * 60 + "]" * 60 + "}", "too_deep"),
    ('{"text": "Paris", "meta": {"id": ' + "9" * 5000 + "}}", "invalid_json"),
    ("[" * 100000 + "]" * 100000, "invalid_json"),
]


@pytest.mark.parametrize("bad,reason", BAD_JSONL, ids=[r for _, r in BAD_JSONL])
def test_jsonl_ner_malformed(tmp_path, nlp, bad, reason):
    good = '{"text": "Paris", "spans": [[0, 5, "LOC"]]}'
    path = write(tmp_path, "bad.jsonl", f"{good}\n\n{bad}\n{good}\n")
    with pytest.raises(InputError) as info:
        list(read_jsonl_ner(path, nlp))
    assert (info.value.reason, info.value.line, info.value.path) == (reason, 3, str(path))
    report = RecordReport(skip_invalid=True)
    docs = list(read_jsonl_ner(path, nlp, report=report))
    assert [ents(d) for d in docs] == [[("Paris", "LOC")], [("Paris", "LOC")]]
    assert (report.read, report.used, dict(report.skipped)) == (3, 2, {reason: 1})


def test_read_ner_format_detection(tmp_path, nlp):
    jsonl = write(tmp_path, "data.txt", '{"text": "Paris", "spans": [[0, 5, "LOC"]]}\n')
    conll_path = write(tmp_path, "data.iob", SIMPLE)
    assert detect_ner_format(jsonl) == "jsonl"
    assert detect_ner_format(conll_path) == "conll"
    assert ents(next(read_ner(jsonl, nlp))) == [("Paris", "LOC")]
    assert [ents(d) for d in read_ner(conll_path, nlp)] == SIMPLE_ENTS
    with pytest.raises(InputError, match=r"data\.txt: scheme and n_sents apply to CoNLL files only"):
        read_ner(jsonl, nlp, format="jsonl", n_sents=3)
    with pytest.raises(InputError, match=r"data\.txt: unknown format 'xml'"):
        read_ner(jsonl, nlp, format="xml")


# --- real corpora -------------------------------------------------------------------------

CONLL_COUNTS = {
    "conll2003/eng.train": (14041, 203621, {"PER": 6600, "LOC": 7140, "ORG": 6321, "MISC": 3438}, "iob1"),
    "conll2003/eng.testa": (3250, 51362, {"PER": 1842, "LOC": 1837, "ORG": 1341, "MISC": 922}, "iob1"),
    "conll2003/eng.testb": (3453, 46435, {"PER": 1617, "LOC": 1668, "ORG": 1661, "MISC": 702}, "iob1"),
    "wnut17/emerging.dev.conll": (
        1009,
        15733,
        {"person": 470, "location": 74, "corporation": 34, "product": 114, "creative-work": 105, "group": 39},
        "bio",
    ),
    "re3d/re3d-train.conll": (
        765,
        20030,
        {"Organisation": 1104, "Location": 644, "Person": 411, "Temporal": 177, "Quantity": 150,
         "Weapon": 81, "DocumentReference": 50, "MilitaryPlatform": 47, "Nationality": 34, "Money": 20},
        "bio",
    ),
}


@pytest.mark.parametrize("name", sorted(CONLL_COUNTS))
def test_real_conll_counts(name):
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    n_sents, n_tokens, entity_counts, scheme = CONLL_COUNTS[name]
    assert detect_scheme(read_conll_evidence(path)) == scheme
    report = RecordReport()
    docs = list(read_conll_ner(path, Vocab(), report=report))
    assert (report.read, report.used, len(docs)) == (n_sents, n_sents, n_sents)
    assert sum(len(d) for d in docs) == n_tokens
    assert Counter(e.label_ for d in docs for e in d.ents) == Counter(entity_counts)
    if name == "conll2003/eng.train":
        assert ents(docs[0]) == [("EU", "ORG"), ("German", "MISC"), ("British", "MISC")]
        assert docs[0]._.meta == {"source": str(path), "doc": 0, "line": 3}
        assert docs[-1]._.meta["doc"] == 945
