"""`spacy-bilstm vectors`: in-domain floret vectors from raw political text.

    python -m spacy_bilstm vectors ../shared/data assets/floret_political

Reads the raw text of the corpora under DATA_DIR that are present (CoNLL-2003
train, HanDeSeT speeches, ConVote speeches; labels are never read), lower-cases
and tokenises it with spaCy's English tokenizer, trains floret vectors on it
(fastText with subword hashing, so that unseen names still get a vector from
their spelling), and writes a spaCy pipeline directory holding only the
vectors, ready for ``[initialize] vectors`` or ``--paths.vectors``. The
vectors are trained on lower-cased text, and the table is saved to be looked
up by lower case (floret tables keep their lookup attribute).

``--exclude-debates corpus/parliament/test.jsonl`` leaves out the speeches of
the debates an evaluation set was drawn from, so a test sentence is never in
the vectors' training text.
"""
import json
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Set, Tuple

import typer

from ..corpora.textcat_sources import HANDESET_MERGED_GROUPS
from ..errors import InputError
from . import app

# The raw-text sources under DATA_DIR, as laid out in the shared data folder.
SOURCES = {
    "conll2003": "conll2003/eng.train",
    "handeset": "handeset/HanDeSeT.csv",
    "convote": "convote/convote_stage3.tsv",
}


def excluded_debates(path: Optional[Path]) -> Set[Tuple[str, str]]:
    """(source, debate) of every record of an NER JSONL file with such meta."""
    if path is None:
        return set()
    if not path.exists():
        raise InputError("file not found", path=path, reason="missing_file")
    out = set()
    for line_no, line in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            meta = json.loads(line).get("meta", {})
        except json.JSONDecodeError as err:
            raise InputError(f"not JSON: {err}", path=path, line=line_no, reason="bad_json") from err
        if "source" in meta and "debate" in meta:
            out.add((meta["source"], str(meta["debate"])))
    return out


def debate_group(source: str, debate: str) -> str:
    """The readers' `meta["group"]` of a debate: HanDeSeT stores one debate
    under two ids (76 and 129), which the readers merge into one group."""
    return HANDESET_MERGED_GROUPS.get(debate, debate) if source == "handeset" else debate


def raw_lines(data_dir: Path, exclude: Set[Tuple[str, str]], counts: dict) -> Iterator[str]:
    """Lower-cased, tokenised lines of raw text from the sources present."""
    import spacy
    from spacy.vocab import Vocab

    from ..corpora import read_convote, read_handeset
    from ..corpora.conll import read_conll_ner

    nlp = spacy.blank("en")
    excluded_groups = {(source, debate_group(source, debate)) for source, debate in exclude}
    for name, relative in SOURCES.items():
        path = data_dir / relative
        if not path.exists():
            counts[name] = "missing"
            continue
        n_docs = n_skipped = 0
        if name == "conll2003":
            docs = read_conll_ner(path, Vocab())
        elif name == "handeset":
            docs = read_handeset(path, nlp)
        else:
            docs = read_convote(path, nlp)
        for doc in docs:
            group = (doc._.meta or {}).get("group")
            if group is not None and (name, str(group)) in excluded_groups:
                n_skipped += 1
                continue
            n_docs += 1
            yield " ".join(token.lower_ for token in doc if not token.is_space)
        counts[name] = f"{n_docs} documents" + (f", {n_skipped} left out (excluded debates)" if n_skipped else "")


def lower_case_lookup(table):
    """The same floret table, looked up by each token's lower-case form.

    The vectors were trained on lower-cased text. A floret table saves its
    lookup attribute (unlike a default-mode table), so every reader, spaCy's
    own `StaticVectors` included, then finds "labour" when it reads "Labour".
    """
    from spacy.vectors import Vectors

    return Vectors(
        strings=table.strings, data=table.data, mode="floret", minn=table.minn, maxn=table.maxn,
        hash_count=table.hash_count, hash_seed=table.hash_seed, bow=table.bow, eow=table.eow, attr="LOWER",
    )


# The arguments `vectors` and `char-lm` share: both read the same raw text.
DATA_DIR_ARGUMENT = typer.Argument(..., help="Folder laid out as the shared data: conll2003/, handeset/, convote/.")
EXCLUDE_DEBATES_OPTION = typer.Option(
    None, "--exclude-debates", help="NER JSONL whose meta (source, debate) names debates to leave out."
)


def echo_sources(counts: dict, n_lines: int, data_dir: Path) -> None:
    """Print what `raw_lines` read from each source; stop if it read nothing.

    counts (dict): Filled by `raw_lines`.
    n_lines (int): The documents it yielded.
    data_dir (Path): The folder, for the error.
    RAISES (InputError): If no source gave any text.
    """
    for name, what in counts.items():
        typer.echo(f"{name}: {what}")
    if n_lines == 0:
        raise InputError(
            f"no raw text found: expected one of {', '.join(SOURCES.values())}", path=data_dir, reason="no_records"
        )


@app.command("vectors")
def vectors_command(
    data_dir: Path = DATA_DIR_ARGUMENT,
    output: Path = typer.Argument(..., help="Pipeline directory to write the vectors to."),
    exclude_debates: Optional[Path] = EXCLUDE_DEBATES_OPTION,
    dim: int = typer.Option(100, "--dim", help="Vector width."),
    epochs: int = typer.Option(10, "--epochs", help="Training epochs over the text."),
    bucket: int = typer.Option(50000, "--bucket", help="Rows of the subword hash table."),
    threads: int = typer.Option(
        1, "--threads", help="floret training threads; more than one is faster but not reproducible (lock-free updates)."
    ),
) -> None:
    """Train floret vectors on the raw political and news text under DATA_DIR."""
    try:
        import floret
    except ImportError:
        raise InputError(
            "the vectors command needs floret, a dependency of spacy-bilstm: pip install floret", reason="missing_dependency"
        ) from None
    import spacy
    from spacy.training.initialize import convert_vectors

    if not data_dir.is_dir():
        raise InputError("not a directory", path=data_dir, reason="missing_file")
    counts: dict = {}
    exclude = excluded_debates(exclude_debates)
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "text.txt"
        n_lines = n_tokens = 0
        with text.open("w", encoding="utf8") as f:
            for line in raw_lines(data_dir, exclude, counts):
                f.write(line + "\n")
                n_lines += 1
                n_tokens += line.count(" ") + 1
        echo_sources(counts, n_lines, data_dir)
        typer.echo(f"training floret on {n_tokens:,} tokens ({n_lines:,} documents), dim {dim}, {epochs} epochs")
        model = floret.train_unsupervised(
            str(text), model="cbow", mode="floret", hashCount=2, bucket=bucket, minn=3, maxn=5,
            minCount=2, dim=dim, epoch=epochs, thread=threads, verbose=0,
        )
        table = Path(tmp) / "vectors.floret"
        model.save_floret_vectors(str(table))
        nlp = spacy.blank("en")
        convert_vectors(nlp, table, truncate=0, prune=-1, mode="floret")
        nlp.vocab.vectors = lower_case_lookup(nlp.vocab.vectors)
        output.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(output)
    typer.echo(f"wrote floret vectors ({bucket} x {dim}, looked up by lower case) to {output}")
