"""The local backend: one process streams records through `nlp.pipe`.

Records are read lazily, Docs are reduced to counts as they leave the
pipeline and then dropped, so memory holds the counts, never the corpus.
Every `checkpoint_every` records the counts added since are merged into the
running total, which keeps its per-document rows on disk (``spill=True``,
see `Aggregate`), so memory stays flat however long the input; with a
`Checkpoint`, they are also written to it, with the position after the last
record counted.
"""

import time
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from tqdm import tqdm

from ..extensions import install_extensions
from ..records import RecordReport
from .aggregate import Aggregate
from .checkpoint import Checkpoint
from .extract import ExtractOptions, extract_doc
from .pipeline import record_doc
from .sources import FieldMap, JsonlSource, Position, Record, iter_docbin, read_docbin

DEFAULT_CHECKPOINT_EVERY = 10_000
DEFAULT_BATCH_SIZE = 256


@dataclass
class RunResult:
    """The outcome of extraction over a whole input.

    aggregate (Aggregate): The counts.
    report (RecordReport): Records read, used and skipped (by reason).
    resumed_records (int): Records already counted by a checkpoint when this run began.
    seconds (float): Time spent extracting in this run.
    """

    aggregate: Aggregate
    report: RecordReport
    resumed_records: int
    seconds: float


class _Progress:
    """Saves a checkpoint every N records and keeps the bar moving."""

    def __init__(
        self,
        checkpoint: Optional[Checkpoint],
        every: int,
        report: RecordReport,
        total: Aggregate,
        bar: tqdm,
    ) -> None:
        self.checkpoint = checkpoint
        self.every = every
        self.report = report
        self.total = total
        self.delta = Aggregate(total.limit)
        self.since = 0
        self.bar = bar

    def counted(self, n_records: int, position: Position) -> None:
        self.since += 1
        self.bar.update(n_records)
        # With or without a checkpoint: the delta holds per-document rows in memory.
        if self.since >= self.every:
            self.flush(position)

    def flush(self, position: Position) -> None:
        if self.checkpoint is not None:
            self.checkpoint.save(self.delta, position._asdict(), self.report)
        self.total.merge(self.delta)
        self.delta = Aggregate(self.total.limit)
        self.since = 0


def _start(
    checkpoint: Optional[Checkpoint], skip_invalid: bool, evidence: int
) -> Tuple[Aggregate, RecordReport, Position]:
    if checkpoint is not None and checkpoint.resumed:
        report = checkpoint.report or RecordReport(skip_invalid=skip_invalid)
        position = Position(**checkpoint.position) if checkpoint.position else Position()
        return checkpoint.load_aggregate(evidence), report, position
    return Aggregate(evidence, spill=True), RecordReport(skip_invalid=skip_invalid), Position()


def run_jsonl(
    nlp: Language,
    source: JsonlSource,
    options: ExtractOptions,
    *,
    checkpoint: Optional[Checkpoint] = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
) -> RunResult:
    """Extract from JSONL records, resuming from `checkpoint` if it was loaded.

    nlp (Language): The pipeline (see `load_pipeline`).
    source (JsonlSource): The input and its record policy.
    options (ExtractOptions): What to extract.
    checkpoint (Optional[Checkpoint]): Save progress here (and resume from it).
    checkpoint_every (int): Records between saves.
    batch_size (int): `nlp.pipe` batch size.
    progress (bool): Show a progress bar (on a terminal).
    RAISES (InputError): On the first malformed record unless skipping.
    RETURNS (RunResult): Counts and the record report.
    """
    install_extensions()
    total, report, start = _start(checkpoint, source.skip_invalid, options.evidence)
    resumed = report.read
    began = time.perf_counter()
    with tqdm(
        total=source.count_records(), initial=resumed, unit="rec", disable=not progress or None, leave=False
    ) as bar:
        tracker = _Progress(checkpoint, checkpoint_every, report, total, bar)
        stream: Iterator[Tuple[Doc, Record]] = ((record_doc(nlp, r.text, r.meta), r) for r in source.records(start))
        for doc, record in nlp.pipe(stream, as_tuples=True, batch_size=batch_size):
            for error in record.skipped:
                report.read += 1
                report.invalid(error)
            report.read += 1
            report.used += 1
            tracker.delta.add(extract_doc(doc, options, text=record.text, meta=record.meta))
            tracker.counted(1 + len(record.skipped), record.after)
        for error in source.trailing:
            report.read += 1
            report.invalid(error)
        bar.update(len(source.trailing))
        tracker.total.merge(tracker.delta)
    return RunResult(total, report, resumed, time.perf_counter() - began)


def run_docbin(
    nlp: Language,
    path: str,
    options: ExtractOptions,
    fields: FieldMap = FieldMap(),
    *,
    keep_ents: bool = False,
    checkpoint: Optional[Checkpoint] = None,
    checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
) -> RunResult:
    """Extract from a `.spacy` DocBin, through the pipeline or as annotated.

    nlp (Language): The pipeline (its vocab reads the DocBin).
    path (str): The DocBin.
    options (ExtractOptions): What to extract.
    fields (FieldMap): Which `doc._.meta` keys hold id, date, speaker, metadata.
    keep_ents (bool): Use the entities saved in the DocBin instead of running the pipeline.
    checkpoint (Optional[Checkpoint]): Save progress here (and resume from it).
    checkpoint_every (int): Docs between saves.
    batch_size (int): `nlp.pipe` batch size.
    progress (bool): Show a progress bar (on a terminal).
    RETURNS (RunResult): Counts and the record report.
    """
    install_extensions()
    total, report, start = _start(checkpoint, False, options.evidence)
    resumed = report.read
    began = time.perf_counter()
    docbin, n_docs = read_docbin(path, nlp.vocab)
    stream = (
        (doc, (meta, number))
        for doc, meta, number in iter_docbin(path, nlp.vocab, fields, start.line, docbin=docbin)
    )
    with tqdm(total=n_docs, initial=resumed, unit="doc", disable=not progress or None, leave=False) as bar:
        tracker = _Progress(checkpoint, checkpoint_every, report, total, bar)
        docs = stream if keep_ents else nlp.pipe(stream, as_tuples=True, batch_size=batch_size)
        for doc, (meta, number) in docs:
            report.read += 1
            report.used += 1
            tracker.delta.add(extract_doc(doc, options, meta=meta))
            tracker.counted(1, Position(0, 0, number))
        tracker.total.merge(tracker.delta)
    return RunResult(total, report, resumed, time.perf_counter() - began)
