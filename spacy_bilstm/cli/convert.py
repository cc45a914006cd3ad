"""`spacy-bilstm convert`: turn NER and stance corpora into .spacy DocBins.

    python -m spacy_bilstm convert ner eng.train train.spacy --n-sents 10
    python -m spacy_bilstm convert textcat HanDeSeT.csv train.spacy \\
        --dev-output dev.spacy --dev-fraction 0.2 --seed 0

Output DocBins keep user data (``_.stance_target``, ``_.meta``) and are
written atomically. Every problem with the input is one line on stderr,
``error: FILE:LINE: problem``, and exit code 2.
"""
import contextlib
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import typer
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..errors import InputError
from ..io import atomic_path
from ..records import RecordReport
from . import app

convert_app = typer.Typer(
    help="Convert corpora (CoNLL, JSONL, HanDeSeT, ConVote, SemEval) to .spacy DocBins.",
    no_args_is_help=True,
)
app.add_typer(convert_app, name="convert")


def _choice(option: str, value: str, choices: Sequence[str]) -> str:
    # Choices are checked here rather than with an Enum type so that a wrong
    # value is an InputError: one line and exit code 2, like every input problem.
    if value not in choices:
        raise InputError(
            f"{option} must be one of {', '.join(choices)}, not {value!r}", reason="bad_argument"
        )
    return value


def blank_pipeline(lang: str) -> Language:
    """A blank pipeline for `lang`, its tokenizer used by the readers.

    lang (str): A spaCy language code, e.g. "en".
    RETURNS (Language): The blank pipeline.
    RAISES (InputError): For an unknown language code.
    """
    import spacy

    try:
        return spacy.blank(lang)
    except (ImportError, KeyError, ValueError):
        raise InputError(f"unknown language code '{lang}'", reason="bad_argument") from None


def write_docbins(outputs: Sequence[Tuple[Iterable[Doc], Path]]) -> List[int]:
    """Write Docs (with user data) to .spacy files, all or none.

    Each file is written under a temporary name and renamed into place only
    when every DocBin has been built and saved, so a reader error (the Docs
    are read lazily) or a write error leaves no new file behind.

    outputs (Sequence[Tuple[Iterable[Doc], Path]]): (Docs, output file) pairs.
    RETURNS (List[int]): The number of Docs written to each file.
    RAISES (InputError): If a file cannot be written.
    """
    docbins = []
    for docs, _ in outputs:
        docbin = DocBin(store_user_data=True)
        for doc in docs:
            docbin.add(doc)
        docbins.append(docbin)
    current = outputs[0][1]
    try:
        with contextlib.ExitStack() as stack:
            for docbin, (_, path) in zip(docbins, outputs):
                current = path
                docbin.to_disk(stack.enter_context(atomic_path(path)))
    except OSError as err:
        raise InputError(
            f"cannot write output: {err.strerror or err}", path=current, reason="unwritable"
        ) from None
    return [len(docbin) for docbin in docbins]


def _check_input(path: Path) -> None:
    if not path.exists():
        raise InputError("input file not found", path=path, reason="missing_file")
    if not path.is_file():
        raise InputError("input is not a file", path=path, reason="not_a_file")


def _check_output(path: Path) -> None:
    if path.exists() and path.is_dir():
        raise InputError("output is a directory, expected a .spacy file", path=path, reason="bad_argument")
    if path.suffix != ".spacy":
        typer.echo(f"note: spaCy's Corpus reads only files ending in .spacy, not {path.name}", err=True)


def _grouped_by(docs: Iterable[Doc], key: str, path: Path) -> Iterator[Doc]:
    """Set each doc's meta "group" from meta[key] as the docs stream by."""
    from ..corpora.splits import set_group_from_meta

    for position, doc in enumerate(docs, start=1):
        set_group_from_meta(doc, key, path, position)
        yield doc


def _check_dev_options(output_path: Path, dev_output: Optional[Path], dev_fraction: float) -> None:
    if dev_output is None:
        return
    _check_output(dev_output)
    if dev_output.resolve() == output_path.resolve():
        raise InputError("--dev-output must differ from the output", path=dev_output, reason="bad_argument")
    if not 0.0 < dev_fraction < 1.0:
        raise InputError(f"--dev-fraction must be between 0 and 1, not {dev_fraction}", reason="bad_argument")


def _format_counts(counts: Dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"


def _gold_labels(docs: Iterable[Doc]) -> Counter:
    counts: Counter = Counter()
    for doc in docs:
        counts.update(label for label, value in doc.cats.items() if value >= 0.5)
    return counts


@convert_app.command("ner")
def convert_ner(
    input_path: Path = typer.Argument(..., help="CoNLL or JSONL NER file."),
    output_path: Path = typer.Argument(..., help="Output .spacy file."),
    format: str = typer.Option("auto", "--format", help="Input format: auto, conll or jsonl."),
    scheme: str = typer.Option("auto", "--scheme", help="CoNLL tag scheme: auto, iob1, bio or biluo (BIOES is read as BILUO)."),
    n_sents: int = typer.Option(1, "--n-sents", help="CoNLL sentences per Doc."),
    lang: str = typer.Option("en", "--lang", help="Language of the tokenizer (JSONL)."),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="Also write a dev split here."),
    dev_fraction: float = typer.Option(0.2, "--dev-fraction", help="Share of Docs for dev."),
    seed: int = typer.Option(0, "--seed", help="Split seed."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count malformed records."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Encoding if the file has no BOM (default UTF-8)."),
) -> None:
    """Convert an NER corpus to a DocBin with entities.

    With --dev-output the Docs are split and every document stays whole in
    one split: JSONL records sharing meta "doc", CoNLL sentences between two
    -DOCSTART- lines. A record without a document is a group of its own.
    """
    from ..corpora.conll import SCHEMES
    from ..corpora.formats import NER_FORMATS, read_ner

    _choice("--format", format, NER_FORMATS)
    _choice("--scheme", scheme, SCHEMES)
    _check_input(input_path)
    _check_output(output_path)
    _check_dev_options(output_path, dev_output, dev_fraction)
    if n_sents < 1:
        raise InputError(f"--n-sents must be at least 1, not {n_sents}", reason="bad_argument")
    nlp = blank_pipeline(lang)
    report = RecordReport(skip_invalid=skip_invalid)
    entities: Counter = Counter()

    def counted(docs: Iterable[Doc]) -> Iterator[Doc]:
        for doc in docs:
            entities.update(ent.label_ for ent in doc.ents)
            yield doc

    docs = read_ner(
        input_path,
        nlp,
        format=format,
        scheme=scheme,
        n_sents=n_sents,
        skip_invalid=skip_invalid,
        report=report,
        encoding=encoding,
    )
    if dev_output is None:
        (n_docs,) = write_docbins([(counted(docs), output_path)])
        typer.echo(report.summary("records (sentences for CoNLL)"))
        typer.echo(f"docs written: {n_docs} -> {output_path}")
        typer.echo(f"entities: {sum(entities.values())} ({_format_counts(entities)})")
        return
    from ..corpora.splits import grouped_split, ner_doc_group

    doc_list = list(docs)
    train, dev = grouped_split(doc_list, ner_doc_group, dev_fraction, seed)
    if not train or not dev:
        raise InputError(
            f"cannot make a dev split: all {len(doc_list)} Docs belong to one document",
            path=input_path,
            reason="bad_argument",
        )
    n_train, n_dev = write_docbins([(train, output_path), (dev, dev_output)])
    typer.echo(report.summary("records (sentences for CoNLL)"))
    typer.echo(f"docs written: train {n_train} -> {output_path}, dev {n_dev} -> {dev_output}")
    for name, split in (("train", train), ("dev", dev)):
        counts = Counter(ent.label_ for doc in split for ent in doc.ents)
        typer.echo(f"{name} entities: {sum(counts.values())} ({_format_counts(counts)})")
    n_groups = len({ner_doc_group(doc) for doc in doc_list})
    typer.echo(f"split: {n_groups} documents (meta 'doc'; a record without one is its own), each kept whole")


@convert_app.command("textcat")
def convert_textcat(
    input_path: Path = typer.Argument(..., help="JSONL, HanDeSeT CSV, ConVote TSV or SemEval file."),
    output_path: Path = typer.Argument(..., help="Output .spacy file (train when splitting)."),
    format: str = typer.Option("auto", "--format", help="Input format: auto, jsonl, handeset, convote or semeval."),
    dev_output: Optional[Path] = typer.Option(None, "--dev-output", help="Also write a dev split here."),
    dev_fraction: float = typer.Option(0.2, "--dev-fraction", help="Share of documents for dev."),
    seed: int = typer.Option(0, "--seed", help="Split seed."),
    lang: str = typer.Option("en", "--lang", help="Language of the tokenizer."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip and count malformed records."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Encoding if the file has no BOM."),
    group_by: Optional[str] = typer.Option(
        None, "--group-by",
        help="Meta key naming each document's group, e.g. debate_id: stored as meta 'group', which the dev split "
        "here and crossval's folds keep whole. Every document must have it.",
    ),
) -> None:
    """Convert a text-classification / stance corpus to a DocBin with cats.

    With --dev-output the documents are split: debates (meta "group", or the
    key --group-by names) stay whole in one split; SemEval tweets are
    stratified by target and label; JSONL without groups is stratified by
    label and target.
    """
    from ..corpora.formats import TEXTCAT_FORMATS, read_textcat
    from ..corpora.splits import doc_group, split_docs, split_strategy

    _choice("--format", format, TEXTCAT_FORMATS)
    _check_input(input_path)
    _check_output(output_path)
    _check_dev_options(output_path, dev_output, dev_fraction)
    nlp = blank_pipeline(lang)
    report = RecordReport(skip_invalid=skip_invalid)
    docs = read_textcat(
        input_path, nlp, format=format, skip_invalid=skip_invalid, report=report, encoding=encoding
    )
    if group_by is not None:
        docs = _grouped_by(docs, group_by, input_path)
    if dev_output is None:
        labels: Counter = Counter()

        def counted(stream: Iterable[Doc]) -> Iterator[Doc]:
            for doc in stream:
                labels.update(_gold_labels([doc]))
                yield doc

        (n_docs,) = write_docbins([(counted(docs), output_path)])
        typer.echo(report.summary("records"))
        typer.echo(f"docs written: {n_docs} -> {output_path}")
        typer.echo(f"labels: {_format_counts(labels)}")
        return
    doc_list = list(docs)
    train, dev = split_docs(doc_list, dev_fraction, seed)
    if not train or not dev:
        raise InputError(
            f"cannot make a dev split: all {len(doc_list)} documents fall in one group",
            path=input_path,
            reason="bad_argument",
        )
    n_train, n_dev = write_docbins([(train, output_path), (dev, dev_output)])
    typer.echo(report.summary("records"))
    typer.echo(f"docs written: train {n_train} -> {output_path}, dev {n_dev} -> {dev_output}")
    typer.echo(f"train labels: {_format_counts(_gold_labels(train))}")
    typer.echo(f"dev labels: {_format_counts(_gold_labels(dev))}")
    strategy = split_strategy(doc_list)
    if strategy == "group":
        n_groups = len({doc_group(doc) for doc in doc_list})
        typer.echo(f"split: {n_groups} groups (meta 'group'), each kept whole")
    else:
        typer.echo(f"split: stratified by {'meta stratum' if strategy == 'stratum' else 'label and target'}")
        if strategy == "label":
            # Debate speeches split this way leak each debate into both
            # splits; say how to keep them whole.
            typer.echo("  (no meta 'group' on every document: to keep debates whole, pass --group-by KEY, "
                       "the meta key of the debate)")
