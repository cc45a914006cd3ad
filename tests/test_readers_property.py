"""Property tests: on any input the readers raise nothing but InputError, and
with skip_invalid every record is accounted for."""
import tempfile
from pathlib import Path

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc
from spacy.training import biluo_tags_to_spans, iob_to_biluo

from spacy_bilstm.corpora import (
    decode_tags,
    grouped_split,
    read_conll_ner,
    read_convote,
    read_handeset,
    read_jsonl_ner,
    read_semeval,
    read_textcat_jsonl,
)
from spacy_bilstm.errors import InputError
from spacy_bilstm.records import RecordReport

NLP = spacy.blank("en")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

READERS = {
    "conll": lambda p, r: read_conll_ner(p, NLP.vocab, report=r),
    "conll_n3": lambda p, r: read_conll_ner(p, NLP.vocab, n_sents=3, report=r),
    "jsonl_ner": lambda p, r: read_jsonl_ner(p, NLP, report=r),
    "jsonl_textcat": lambda p, r: read_textcat_jsonl(p, NLP, report=r),
    "handeset": lambda p, r: read_handeset(p, NLP, report=r),
    "convote": lambda p, r: read_convote(p, NLP, report=r),
    "semeval": lambda p, r: read_semeval(p, NLP, report=r),
}


def check_reader(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        for skip in (False, True):
            report = RecordReport(skip_invalid=skip)
            try:
                docs = list(READERS[name](path, report))
            except InputError:
                continue
            assert report.is_balanced()
            assert report.used >= (1 if docs else 0)
            if not skip:
                assert report.n_skipped == 0


@pytest.mark.parametrize("name", sorted(READERS))
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(name, data):
    check_reader(name, data)


@pytest.mark.parametrize("name", sorted(READERS))
@SETTINGS
@given(text=st.text(max_size=200), encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
def test_random_unicode(name, text, encoding):
    check_reader(name, text.encode(encoding, errors="surrogatepass"))


TAGS = ["O", "B-PER", "I-PER", "L-PER", "U-PER", "B-LOC", "I-LOC", "S-LOC", "E-LOC", "X-PER", "B-", "I-"]
CONLL_LINE = st.one_of(
    st.just(""),
    st.just("-DOCSTART- -X- O O"),
    st.builds(lambda tok, tag: f"{tok} {tag}", st.sampled_from(["a", "Paris", "x\ty", "é"]), st.sampled_from(TAGS)),
    st.builds(lambda tok, tag: f"{tok} NN {tag}", st.sampled_from(["b", "-DOCSTART-"]), st.sampled_from(TAGS)),
)


@SETTINGS
@given(lines=st.lists(CONLL_LINE, max_size=30), newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_conll_like_lines_account_for_every_sentence(lines, newline):
    data = newline.join(lines).encode("utf8")
    for name in ("conll", "conll_n3"):
        check_reader(name, data)


JSON_PIECES = st.sampled_from(
    ['{"text": "Paris is big", "spans": [[0, 5, "LOC"]]}', '{"text": "a", "label": "x"}', '{"text": ""}',
     '{"text": "Paris", "spans": [[0, 3, "LOC"]]}', "[]", "{", '{"text": "b", "labels": ["x", "y"]}',
     '{"text": "c", "label": 3}', "", "  ", '"\\ud800"', '{"text": "\\udfff", "label": "x"}']
)


@SETTINGS
@given(lines=st.lists(JSON_PIECES, max_size=12))
def test_jsonl_like_lines_account_for_every_record(lines):
    data = "\n".join(lines).encode("utf8")
    for name in ("jsonl_ner", "jsonl_textcat"):
        check_reader(name, data)


# --- decoding tags agrees with spaCy ----------------------------------------------


def valid_bio(draw_labels):
    """Random valid BIO sequences (I-X only after B-X/I-X)."""

    @st.composite
    def build(draw):
        n = draw(st.integers(0, 12))
        tags = []
        for _ in range(n):
            prev = tags[-1] if tags else "O"
            options = ["O"] + [f"B-{label}" for label in draw_labels]
            if prev != "O":
                options.append("I-" + prev[2:])
            tags.append(draw(st.sampled_from(options)))
        return tags

    return build()


@settings(max_examples=150, deadline=None)
@given(tags=valid_bio(["PER", "LOC"]))
def test_bio_decoding_matches_spacy(tags):
    doc = Doc(NLP.vocab, words=["w"] * len(tags))
    expected = [(s.start, s.end, s.label_) for s in biluo_tags_to_spans(doc, iob_to_biluo(tags))]
    assert decode_tags(tags, "bio") == expected
    # IOB1 reads every valid BIO sequence the same way ...
    assert decode_tags(tags, "iob1") == expected
    # ... and the BILUO version of it gives the same spans.
    assert decode_tags(iob_to_biluo(tags), "biluo") == expected


@settings(max_examples=150, deadline=None)
@given(tags=st.lists(st.sampled_from(["O", "I-PER", "I-LOC", "B-PER", "B-LOC"]), max_size=12))
def test_iob1_decoding_matches_spacy(tags):
    # spaCy's iob_to_biluo reads I-X after O or another type as a start, as IOB1 does.
    doc = Doc(NLP.vocab, words=["w"] * len(tags))
    expected = [(s.start, s.end, s.label_) for s in biluo_tags_to_spans(doc, iob_to_biluo(tags))]
    assert decode_tags(tags, "iob1") == expected


@settings(max_examples=100, deadline=None)
@given(
    groups=st.lists(st.integers(0, 8), min_size=1, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 5),
)
def test_grouped_split_partitions_by_group(groups, fraction, seed):
    items = list(enumerate(groups))
    train, dev = grouped_split(items, lambda item: item[1], fraction, seed)
    assert sorted(train + dev) == items
    assert not {g for _, g in train} & {g for _, g in dev}
    if len(set(groups)) >= 2:
        assert train and dev
