"""`spacy-bilstm network`: an actor network from texts, with any NER pipeline.

    python -m spacy_bilstm network MODEL INPUT --out graph.gexf
    python -m spacy_bilstm network en_core_web_md speeches.jsonl \\
        --out results/graph.gexf --formats gexf,csv,json,png,html \\
        --window sentence --labels PERSON,ORG --min-count 2 \\
        --aliases aliases.csv --speaker-field speaker --meta-fields party
    python -m spacy_bilstm network ./model shards/ --out graph.gexf \\
        --backend ray --workers 8 --ray-address auto

MODEL is anything `spacy.load` takes. INPUT is a JSONL file, a directory of
JSONL shards, or a `.spacy` DocBin (local backend only). Output files share
the stem of ``--out`` (``graph.gexf``, ``graph.nodes.csv``, …, and
``graph.report.json`` with the statistics); see `spacy_bilstm.network.export`
for what each format does with awkward names (XML-illegal characters are
removed and counted; CSV cells that look like formulas get a leading ').
``html`` writes one interactive page per graph (``graph.html``,
``graph.speakers.html``) that works offline; each co-mention edge carries
up to ``--evidence`` sentences in which both actors occur, and each speaker
→ actor edge up to ``--evidence`` sentences of the speaker's documents that
name the actor (also in JSON, CSV, GEXF, GraphML and Parquet).

A run keeps a checkpoint (``STEM.checkpoint/``) and deletes it when the
outputs are written. If a run is killed, run the same command with
``--resume``: it continues after the last checkpoint and gives exactly the
graph an uninterrupted run would have.

Ray: ``--backend ray`` starts a local Ray cluster, or joins an existing one
with ``--ray-address auto`` (on a cluster node) or ``--ray-address
ray://HOST:10001`` (Ray Client). On a cluster, spacy-bilstm and the pipeline
must be installed on every node and INPUT, MODEL and the checkpoint
directory must be on a file system every node sees under the same path.
"""

import time
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import typer

from ..errors import InputError
from ..network.extract import NON_ACTOR_LABELS
from . import app

DEFAULT_EXCLUDE = ",".join(sorted(NON_ACTOR_LABELS))


class Backend(str, Enum):
    local = "local"
    ray = "ray"


def _split(value: str) -> Tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _formats(out: Path, formats: str) -> List[str]:
    from ..network.export import FORMATS

    chosen = []
    suffix = out.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        chosen.append(suffix)
    for fmt in _split(formats.lower()):
        if fmt not in FORMATS:
            raise InputError(
                f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}", reason="bad_argument"
            )
        if fmt not in chosen:
            chosen.append(fmt)
    if not chosen:
        raise InputError(
            f"--out {out} has no graph suffix: use .gexf, .graphml, .json, … or give --formats",
            reason="bad_argument",
        )
    return chosen


def _stem(out: Path) -> Path:
    from ..network.export import FORMATS

    return out.with_suffix("") if out.suffix.lower().lstrip(".") in FORMATS else out


@app.command("network")
def network_command(
    model: str = typer.Argument(
        ..., help="Pipeline: a directory or an installed package (anything spacy.load takes)."
    ),
    input_path: Path = typer.Argument(..., help="JSONL file, directory of JSONL shards, or .spacy DocBin."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Main output, e.g. graph.gexf; its stem names every output."
    ),
    formats: str = typer.Option(
        "", help="More formats, comma-separated: gexf,graphml,csv,json,parquet,png,html."
    ),
    window: str = typer.Option("sentence", help="sentence, paragraph, document or tokens:K."),
    labels: str = typer.Option("", help="Keep only these entity labels (comma-separated; default: all)."),
    exclude_labels: str = typer.Option(DEFAULT_EXCLUDE, help="Drop these entity labels."),
    person_labels: str = typer.Option("PERSON,PER", help="Labels whose one-word names are surnames."),
    min_count: int = typer.Option(
        1, min=1, help="Drop edges seen in fewer windows (speaker edges: documents)."
    ),
    min_mentions: int = typer.Option(1, min=1, help="Drop actors with fewer mentions."),
    evidence: int = typer.Option(
        5, min=0, help="Evidence sentences kept per edge (chosen by a stable hash; 0: none)."
    ),
    aliases: Optional[Path] = typer.Option(
        None, help="Alias table, CSV (alias,canonical) or JSON {alias: canonical}."
    ),
    text_field: str = typer.Option("text", help="JSONL field with the text."),
    id_field: str = typer.Option("id", help="JSONL field with the document id (default id: FILE:LINE)."),
    date_field: str = typer.Option("date", help="JSONL field with the date (ISO 8601 sorts correctly)."),
    speaker_field: str = typer.Option(
        "speaker", help="JSONL field with the speaker (adds the speaker graph)."
    ),
    meta_fields: str = typer.Option(
        "", help="Further JSONL fields to keep, e.g. party (speaker node attributes)."
    ),
    stance_positive: str = typer.Option("support,favor,favour,pro,yes", help="doc.cats labels for support."),
    stance_negative: str = typer.Option("oppose,against,con,no", help="doc.cats labels for opposition."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip malformed lines and count them by reason."
    ),
    keep_ents: bool = typer.Option(
        False, "--keep-ents", help="DocBin input: use its entities, do not run MODEL."
    ),
    backend: Backend = typer.Option(Backend.local, help="local, or ray (Ray Data; JSONL input)."),
    workers: int = typer.Option(2, min=1, help="Ray: actors, each loading the pipeline once."),
    num_gpus: float = typer.Option(0.0, min=0.0, help="Ray: GPUs per actor."),
    ray_address: Optional[str] = typer.Option(
        None, help="Ray: existing cluster ('auto' or 'ray://HOST:10001'); default: start a local one."
    ),
    lines_per_shard: int = typer.Option(
        2000, min=1, help="Ray: lines per shard (unit of work and checkpoint)."
    ),
    gpu_id: int = typer.Option(-1, help="Local: run the pipeline on this GPU (-1: CPU)."),
    batch_size: int = typer.Option(256, min=1, help="nlp.pipe batch size."),
    checkpoint_every: int = typer.Option(10_000, min=1, help="Local: records between checkpoints."),
    checkpoint_dir: Optional[Path] = typer.Option(
        None, help="Checkpoint directory (default: STEM.checkpoint)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from its checkpoint."),
    restart: bool = typer.Option(False, "--restart", help="Discard an interrupted run's checkpoint."),
    report: Optional[Path] = typer.Option(None, help="Report JSON (default: STEM.report.json)."),
    top_labels: int = typer.Option(
        20, min=0, help="PNG: name the N actors with the highest weighted degree."
    ),
    plot_max_nodes: int = typer.Option(
        300, min=1, help="PNG: draw at most N actors of the largest component (by weighted degree)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Build an actor co-mention network (and a speaker → actor network).

    Outputs share the stem of --out (graph.gexf, graph.nodes.csv, …,
    graph.report.json). A killed run continues with --resume.

    Ray: --backend ray starts a local Ray cluster; --ray-address auto joins
    the cluster of this node, --ray-address ray://HOST:10001 a remote one
    (spacy-bilstm and MODEL installed on every node; INPUT, MODEL and the
    checkpoint directory on a shared file system under the same paths).
    """
    from ..network.aliases import AliasTable
    from ..network.checkpoint import Checkpoint, file_fingerprint
    from ..network.export import write_graph, write_report
    from ..network.extract import ExtractOptions, Window
    from ..network.graph import GraphOptions, build_network
    from ..network.sources import FieldMap, input_files

    chosen = _formats(out, formats)
    options = ExtractOptions(
        window=Window.parse(window),
        labels=frozenset(_split(labels)) or None,
        exclude_labels=frozenset(_split(exclude_labels)),
        person_labels=frozenset(_split(person_labels)),
        aliases=AliasTable.from_path(aliases) if aliases is not None else None,
        stance_positive=_split(stance_positive),
        stance_negative=_split(stance_negative),
        evidence=evidence,
    )
    fields = FieldMap(text_field, id_field, date_field, speaker_field, _split(meta_fields))
    is_docbin = input_path.suffix.lower() == ".spacy"
    # Before anything is written: a missing extra is one line, no checkpoint.
    from ..network.export import require_formats
    from ..optional import require

    require_formats(chosen)
    if backend == Backend.ray:
        require("ray", extra="ray", purpose="--backend ray")
        require("pyarrow", extra="ray", purpose="--backend ray")
    if is_docbin and backend == Backend.ray:
        raise InputError(
            "--backend ray reads JSONL; convert the DocBin or use --backend local", reason="bad_argument"
        )
    if not input_path.exists():
        raise InputError("input not found", path=input_path)
    files = [input_path] if is_docbin else input_files(input_path)
    stem = _stem(out)
    fingerprint: Dict[str, Any] = {
        "backend": backend.value,
        "model": model,
        "input": file_fingerprint(files),
        "options": options.fingerprint(),
        "fields": asdict(fields),
        "skip_invalid": skip_invalid,
        "keep_ents": keep_ents,
    }
    if backend == Backend.ray:
        fingerprint["lines_per_shard"] = lines_per_shard
    checkpoint = Checkpoint.open(
        checkpoint_dir or stem.with_name(stem.name + ".checkpoint"), fingerprint, resume, restart
    )
    if resume and not checkpoint.resumed:
        typer.echo("no checkpoint to resume from: starting at the beginning", err=True)

    began = time.perf_counter()
    if backend == Backend.ray:
        from ..network.ray_backend import run_ray

        result = run_ray(
            model,
            input_path,
            options,
            fields,
            skip_invalid=skip_invalid,
            workers=workers,
            num_gpus=num_gpus,
            address=ray_address,
            lines_per_shard=lines_per_shard,
            batch_size=batch_size,
            checkpoint=checkpoint,
            progress=progress,
        )
    else:
        from ..network.local_backend import run_docbin, run_jsonl
        from ..network.pipeline import load_pipeline
        from ..network.sources import JsonlSource

        need_sentences = options.window.kind == "sentence" and not keep_ents
        nlp = load_pipeline(model, need_sentences=need_sentences, gpu_id=gpu_id)
        common = dict(
            checkpoint=checkpoint, checkpoint_every=checkpoint_every, batch_size=batch_size, progress=progress
        )
        if is_docbin:
            result = run_docbin(nlp, str(input_path), options, fields, keep_ents=keep_ents, **common)
        else:
            source = JsonlSource(input_path, fields, skip_invalid)
            result = run_jsonl(nlp, source, options, **common)
    extracted = time.perf_counter()

    network = build_network(result.aggregate, options, GraphOptions(min_count, min_mentions))
    written, removed = write_graph(
        network.graph, out, chosen, top_labels=top_labels, max_plot_nodes=plot_max_nodes
    )
    if network.speakers is not None:
        speaker_formats = [fmt for fmt in chosen if fmt != "png"]
        more, removed_speakers = write_graph(network.speakers, out, speaker_formats, suffix=".speakers")
        written += more
        removed += removed_speakers
    report_path = report or stem.with_name(stem.name + ".report.json")
    summary = {
        "command": {
            "model": model,
            "input": str(input_path),
            "backend": backend.value,
            "window": str(options.window),
            "min_count": min_count,
            "min_mentions": min_mentions,
            "resumed_records": result.resumed_records,
        },
        "records": result.report.to_dict(),
        "skipped_examples": result.report.examples,
        "extraction": dict(sorted(network.stats.items())),
        "xml_chars_removed": removed,
        "graph": network.summary,
        "speaker_graph": network.speaker_summary,
        "seconds": {
            "extraction": round(extracted - began, 3),
            "total": round(time.perf_counter() - began, 3),
        },
        "files": [str(path) for path in written],
    }
    write_report(summary, report_path)
    checkpoint.remove()
    _print_summary(summary, result.report.summary("records"), report_path)


def _top(pairs: List[Tuple[str, float]], n: int = 5) -> str:
    return ", ".join(f"{name} ({value:g})" for name, value in pairs[:n]) or "-"


def _print_summary(summary: Dict[str, Any], records: str, report_path: Path) -> None:
    stats = summary["extraction"]
    graph = summary["graph"]
    lines = [
        records,
        f"docs: {stats.get('docs', 0)}, entities found: {stats.get('entities', 0)}, "
        f"mentions kept: {stats.get('mentions', 0)} (dropped by label: {stats.get('dropped_label', 0)}, "
        f"empty after normalisation: {stats.get('dropped_empty', 0)})",
        f"co-mention graph ({summary['command']['window']} window): {graph['nodes']} nodes, "
        f"{graph['edges']} edges, {graph['communities']} communities, modularity {graph['modularity']:.3f}",
        f"  most connected (weighted degree): {_top(graph['top_weighted_degree'])}",
        f"  most between: {_top([(n, round(v, 3)) for n, v in graph['top_betweenness']])}",
    ]
    if summary["speaker_graph"] is not None:
        speakers = summary["speaker_graph"]
        lines.append(f"speaker graph: {speakers['nodes']} nodes, {speakers['edges']} edges")
    if stats.get("docs_without_sentences"):
        lines.append(
            f"note: {stats['docs_without_sentences']} docs had no sentence boundaries (one window each)"
        )
    if summary["xml_chars_removed"]:
        lines.append(
            f"note: {summary['xml_chars_removed']} characters XML cannot hold were removed from GEXF/GraphML"
        )
    lines.append(f"extraction: {summary['seconds']['extraction']} s; total: {summary['seconds']['total']} s")
    lines.append(f"wrote: {', '.join(summary['files'])} and {report_path}")
    typer.echo("\n".join(lines))
