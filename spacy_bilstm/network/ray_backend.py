"""The Ray backend: the same extraction, spread over Ray Data actors.

How it runs:

1. The JSONL input (a file or a directory of shards) is split into shards of
   `lines_per_shard` lines by byte offset; a shard is (file, start, end,
   first line number), so workers read only their own lines and report
   errors with the true line number. The corpus is never held in memory.
2. `ray.data.from_items(shards).map_batches(ShardWorker, concurrency=N,
   num_cpus=1, num_gpus=G)`: each actor loads the pipeline once, streams its
   shard's records through `nlp.pipe`, and emits the shard's counts as flat
   rows (`Aggregate.to_rows`, pre-aggregated over the shard) plus its record
   report. With a checkpoint directory, each finished shard's rows are also
   written there as ``shard-NNNNNN.parquet`` (atomically); `--resume` skips
   the shards that have one.
3. ``groupby(kind, a, b, c, d).sum(count, stance, stance_n)`` adds up the rows
   of all shards (evidence rows are distinct snippets, which the driver cuts
   to the K smallest per pair as `Aggregate` does); the driver reads the sums
   into an `Aggregate`, and the graph is built exactly as in the local backend. Canonicalisation happens only
   there, over the whole corpus, so the graph is identical, edge for edge
   and count for count, to the local backend's.

Using an existing Ray cluster: pass ``--ray-address auto`` on a node of the
cluster (or after ``ray start --head``), or ``--ray-address
ray://HEAD_HOST:10001`` from outside it (Ray Client). Every node must have
spacy-bilstm and the pipeline installed (or be given them with a
``runtime_env``), and the input files, the pipeline directory and the
checkpoint directory must be reachable under the same paths on every node
(a shared file system). Without ``--ray-address`` a local cluster with
max(workers, CPUs) CPUs is started and shut down afterwards.
"""

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ..errors import InputError
from ..io import atomic_path
from ..records import MAX_EXAMPLES_PER_REASON, RecordReport
from .aggregate import ROW_FIELDS, Aggregate, Row
from .checkpoint import Checkpoint
from .extract import DEFAULT_EVIDENCE, ExtractOptions, extract_doc
from .local_backend import DEFAULT_BATCH_SIZE, RunResult
from .pipeline import load_pipeline, record_doc
from .sources import FieldMap, file_names, input_files, iter_lines, parse_line

DEFAULT_LINES_PER_SHARD = 2000
DEFAULT_WORKERS = 2
GROUP_KEYS = ["kind", "a", "b", "c", "d"]
SUM_COLUMNS = ["count", "stance", "stance_n"]
ROWS_PER_BATCH = 20_000


@dataclass(frozen=True)
class Shard:
    """A run of lines of one input file.

    index (int): The shard's number (names its checkpoint part).
    file_index (int): Which input file.
    path (str): The file.
    start (int): Byte offset of its first line.
    end (int): Byte offset just after its last line.
    first_line (int): The number of its first line.
    """

    index: int
    file_index: int
    path: str
    start: int
    end: int
    first_line: int


def plan_shards(files: Sequence[Path], lines_per_shard: int = DEFAULT_LINES_PER_SHARD) -> List[Shard]:
    """Split the input files into shards of at most `lines_per_shard` lines.

    files (Sequence[Path]): The input files, in order.
    lines_per_shard (int): Lines per shard.
    RETURNS (List[Shard]): The shards, in input order.
    """
    shards: List[Shard] = []
    for file_index, path in enumerate(files):
        start, first, count, offset = 0, 1, 0, 0
        for number, _, after in iter_lines(path):
            count += 1
            offset = after
            if count == lines_per_shard:
                shards.append(Shard(len(shards), file_index, str(path), start, after, first))
                start, first, count = after, number + 1, 0
        if count:
            shards.append(Shard(len(shards), file_index, str(path), start, offset, first))
    return shards


def _position(file_index: int, line: int) -> str:
    # Sorts in input order, for choosing the first errors and examples.
    return f"{file_index:06d}:{line:012d}"


def rows_table(rows: Sequence[Tuple]) -> Any:
    """Rows as a pyarrow Table with the fixed schema of `ROW_FIELDS`."""
    import pyarrow as pa

    columns = list(zip(*rows)) if rows else [[] for _ in ROW_FIELDS]
    schema = pa.schema(
        [(name, pa.string()) for name in ROW_FIELDS[:5]]
        + [("count", pa.int64()), ("stance", pa.float64()), ("stance_n", pa.int64())]
    )
    return pa.Table.from_arrays(
        [pa.array(list(col), type=schema.field(i).type) for i, col in enumerate(columns)], schema=schema
    )


class _StopShard(Exception):
    def __init__(self, error: InputError) -> None:
        self.error = error


class ShardWorker:
    """A Ray Data actor: loads the pipeline once, turns shards into rows.

    model (str): The pipeline (visible on the worker's node).
    options (ExtractOptions): What to extract.
    fields (FieldMap): The JSONL fields.
    names (List[str]): The input files' names for default ids.
    skip_invalid (bool): The record policy.
    batch_size (int): `nlp.pipe` batch size.
    parts_dir (Optional[str]): Where to write each shard's rows (checkpoint).
    gpu_id (int): The GPU to use (-1: CPU).
    """

    def __init__(
        self,
        model: str,
        options: ExtractOptions,
        fields: FieldMap,
        names: List[str],
        skip_invalid: bool,
        batch_size: int,
        parts_dir: Optional[str],
        gpu_id: int = -1,
    ) -> None:
        self.nlp = load_pipeline(model, need_sentences=options.window.kind == "sentence", gpu_id=gpu_id)
        self.options = options
        self.fields = fields
        self.names = names
        self.skip_invalid = skip_invalid
        self.batch_size = batch_size
        self.parts_dir = Path(parts_dir) if parts_dir else None

    def __call__(self, batch: Dict[str, Any]) -> Any:
        import pyarrow as pa

        tables = []
        for i in range(len(batch["index"])):
            shard = Shard(
                **{
                    key: batch[key][i].item() if hasattr(batch[key][i], "item") else batch[key][i]
                    for key in batch
                }
            )
            tables.append(self.shard(shard))
        return pa.concat_tables(tables)

    def shard(self, shard: Shard) -> Any:
        """The rows of one shard (or one error row, under the default policy)."""
        report = RecordReport(skip_invalid=True)
        examples: List[Row] = []
        path = Path(shard.path)
        name = self.names[shard.file_index]

        def records() -> Iterator[Tuple[Any, Tuple[str, Dict[str, object]]]]:
            for number, raw, _ in iter_lines(path, shard.start, shard.end, shard.first_line):
                if not raw.strip():
                    continue
                report.read += 1
                try:
                    text, meta = parse_line(raw, self.fields, shard.path, number, name)
                except InputError as err:
                    if not self.skip_invalid:
                        raise _StopShard(err)
                    if report.skipped[err.reason] < MAX_EXAMPLES_PER_REASON:
                        examples.append(
                            (
                                "example",
                                err.reason,
                                _position(shard.file_index, number),
                                str(err),
                                "",
                                1,
                                0.0,
                                0,
                            )
                        )
                    report.invalid(err)
                    continue
                report.used += 1
                yield record_doc(self.nlp, text, meta), (text, meta)

        aggregate = Aggregate(self.options.evidence)
        try:
            for doc, (text, meta) in self.nlp.pipe(records(), as_tuples=True, batch_size=self.batch_size):
                aggregate.add(extract_doc(doc, self.options, text=text, meta=meta))
        except _StopShard as stop:
            err = stop.error
            row = (
                "error",
                _position(shard.file_index, err.line or 0),
                err.path or "",
                err.message,
                err.reason,
                err.line or 0,
                0.0,
                0,
            )
            return rows_table([row])
        rows: List[Row] = aggregate.to_rows() + examples
        rows.append(("report", "read", "", "", "", report.read, 0.0, 0))
        rows.append(("report", "used", "", "", "", report.used, 0.0, 0))
        rows.extend(("report", "skipped", reason, "", "", n, 0.0, 0) for reason, n in report.skipped.items())
        table = rows_table(rows)
        if self.parts_dir is not None:
            import pyarrow.parquet as pq

            with atomic_path(self.parts_dir / f"shard-{shard.index:06d}.parquet") as tmp:
                pq.write_table(table, tmp)
        return table


class RowSink:
    """Takes shard rows as they arrive: counts into an `Aggregate`, record
    accounting into a `RecordReport`, errors kept until `finish`.

    skip_invalid (bool): The record policy (for the report).
    evidence (int): Evidence snippets to keep per pair.
    """

    def __init__(self, skip_invalid: bool, evidence: int = DEFAULT_EVIDENCE) -> None:
        # Per-document rows go to disk: the driver's memory does not grow with the corpus.
        self.aggregate = Aggregate(evidence, spill=True)
        self.report = RecordReport(skip_invalid=skip_invalid)
        self.errors: List[Row] = []
        self.examples: Dict[str, List[Tuple[str, str]]] = {}

    def add(self, rows: Iterable[Row]) -> None:
        """Add rows (summed or not, in any order)."""
        counts = []
        report = self.report
        for row in rows:
            kind = row[0]
            if kind == "report":
                if row[1] == "read":
                    report.read += int(row[5])
                elif row[1] == "used":
                    report.used += int(row[5])
                else:
                    report.skipped[row[2]] += int(row[5])
            elif kind == "example":
                self.examples.setdefault(row[1], []).append((row[2], row[3]))
            elif kind == "error":
                self.errors.append(row)
            else:
                counts.append(row)
        self.aggregate.add_rows(counts)

    def finish(self) -> Tuple[Aggregate, RecordReport]:
        """The sums and the report.

        RAISES (InputError): For the first error row in input order.
        RETURNS (Tuple[Aggregate, RecordReport]): What the rows add up to.
        """
        if self.errors:
            _, _, path, message, reason, line, _, _ = min(self.errors)
            raise InputError(message, path=path or None, line=int(line) or None, reason=reason)
        for reason, found in sorted(self.examples.items()):
            where = self.report.examples.setdefault(reason, [])
            where.extend(message for _, message in sorted(found)[: MAX_EXAMPLES_PER_REASON - len(where)])
        return self.aggregate, self.report


def _table_rows(table: Any) -> List[Row]:
    columns = [table.column(name).to_pylist() for name in table.column_names]
    return list(zip(*columns))


def _init_ray(address: Optional[str], workers: int) -> bool:
    import ray

    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=max(workers, os.cpu_count() or 1),
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    return True


def _run_shards(
    shards: List[Shard],
    model: Union[str, Path],
    options: ExtractOptions,
    fields: FieldMap,
    names: List[str],
    skip_invalid: bool,
    workers: int,
    num_gpus: float,
    batch_size: int,
    parts_dir: Optional[str],
    progress: bool,
    sink: RowSink,
) -> None:
    import ray

    context = ray.data.DataContext.get_current()
    saved = context.enable_progress_bars
    context.enable_progress_bars = progress
    try:
        dataset = ray.data.from_items([asdict(s) for s in shards], override_num_blocks=len(shards))
        dataset = dataset.map_batches(
            ShardWorker,
            fn_constructor_kwargs={
                "model": str(model),
                "options": options,
                "fields": fields,
                "names": names,
                "skip_invalid": skip_invalid,
                "batch_size": batch_size,
                "parts_dir": parts_dir,
                # Ray sets CUDA_VISIBLE_DEVICES for an actor with GPUs: its GPU is number 0.
                "gpu_id": 0 if num_gpus else -1,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=1,
            num_gpus=num_gpus or None,
        )
        summed = dataset.groupby(GROUP_KEYS, num_partitions=workers).sum(SUM_COLUMNS)
        renamed = [f"sum({name})" for name in SUM_COLUMNS]
        # Streamed into the sink in batches: the driver never holds all rows.
        for batch in summed.iter_batches(batch_format="pyarrow", batch_size=ROWS_PER_BATCH):
            sink.add(zip(*(batch.column(name).to_pylist() for name in GROUP_KEYS + renamed)))
    finally:
        context.enable_progress_bars = saved


def run_ray(
    model: Union[str, Path],
    path: Union[str, Path],
    options: ExtractOptions,
    fields: FieldMap = FieldMap(),
    *,
    skip_invalid: bool = False,
    workers: int = DEFAULT_WORKERS,
    num_gpus: float = 0,
    address: Optional[str] = None,
    lines_per_shard: int = DEFAULT_LINES_PER_SHARD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    checkpoint: Optional[Checkpoint] = None,
    progress: bool = True,
    shutdown: bool = True,
) -> RunResult:
    """Extract from JSONL on Ray Data (see the module docstring).

    model (Union[str, Path]): The pipeline, loaded once per actor.
    path (Union[str, Path]): A JSONL file or a directory of shards.
    options (ExtractOptions): What to extract.
    fields (FieldMap): The JSONL fields.
    skip_invalid (bool): Skip and count malformed lines (else the first one raises).
    workers (int): Actors (each with one CPU).
    num_gpus (float): GPUs per actor (0: CPU only).
    address (Optional[str]): An existing cluster ("auto", "ray://host:10001"),
        or None to start a local one.
    lines_per_shard (int): Lines per shard (the unit of work and of checkpoints).
    batch_size (int): `nlp.pipe` batch size in each actor.
    checkpoint (Optional[Checkpoint]): Write one part per finished shard; resume from it.
    progress (bool): Show Ray Data's progress bars.
    shutdown (bool): Shut Ray down afterwards if this call started it.
    RAISES (InputError): On the first malformed line (in input order) unless skipping.
    RETURNS (RunResult): Counts and the record report, as the local backend's.
    """
    import ray

    files = input_files(path)
    names = file_names(path, files)
    shards = plan_shards(files, lines_per_shard)
    sink = RowSink(skip_invalid, options.evidence)
    parts_dir: Optional[str] = None
    remaining = shards
    if checkpoint is not None:
        parts_dir = str(checkpoint.directory)
        if not checkpoint.resumed:
            checkpoint.write_manifest(
                {"parts": [], "position": None, "report": None, "extra": {"shards": len(shards)}}
            )
        import pyarrow.parquet as pq

        done = set()
        for shard in shards:
            part = checkpoint.directory / f"shard-{shard.index:06d}.parquet"
            if part.exists():
                sink.add(_table_rows(pq.read_table(part)))
                done.add(shard.index)
        remaining = [shard for shard in shards if shard.index not in done]
    resumed = sink.report.read
    started = _init_ray(address, workers)
    try:
        began = time.perf_counter()
        if remaining:
            _run_shards(
                remaining,
                model,
                options,
                fields,
                names,
                skip_invalid,
                workers,
                num_gpus,
                batch_size,
                parts_dir,
                progress,
                sink,
            )
        aggregate, report = sink.finish()
        return RunResult(aggregate, report, resumed, time.perf_counter() - began)
    finally:
        if started and shutdown:
            ray.shutdown()
