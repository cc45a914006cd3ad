"""Readers and converters for NER and stance corpora.

Every reader is a generator of `spacy.tokens.Doc`, decodes its input through
`decoding.iter_lines`, names file and line in every `InputError`, and counts
records read, used and skipped in a `RecordReport`.
"""
from .conll import decode_tags, detect_scheme, read_conll_ner
from .decoding import iter_lines
from .formats import detect_ner_format, detect_textcat_format, read_ner, read_textcat
from .jsonl_ner import read_jsonl_ner
from .splits import doc_folds, grouped_folds, grouped_split, split_docs, split_strategy, stratified_folds, stratified_split
from .textcat_sources import (
    make_textcat_doc,
    read_convote,
    read_handeset,
    read_semeval,
    read_textcat_jsonl,
)

__all__ = [
    "decode_tags",
    "detect_ner_format",
    "detect_scheme",
    "detect_textcat_format",
    "doc_folds",
    "grouped_folds",
    "grouped_split",
    "iter_lines",
    "make_textcat_doc",
    "read_conll_ner",
    "read_convote",
    "read_handeset",
    "read_jsonl_ner",
    "read_ner",
    "read_semeval",
    "read_textcat",
    "read_textcat_jsonl",
    "split_docs",
    "split_strategy",
    "stratified_folds",
    "stratified_split",
]
