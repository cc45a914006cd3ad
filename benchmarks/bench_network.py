"""Throughput of the network command's backends, measured, not assumed.

    python benchmarks/bench_network.py                    # everything, then RESULTS.md
    python benchmarks/bench_network.py --docs 20000 --no-write

1. Local backend vs the bare `nlp.pipe` that feeds it, on the same records in
   the same run, alternating (so that load from other work hits both):
   a) the rule-based pipeline of `synthetic_speeches.py` (sentencizer
      + entity ruler: the cheapest possible pipeline, so the extraction's
      share is largest); b) a statistical pipeline (en_core_web_md from the
      shared folder, if present); c) `bilstm_ner` (configs/bilstm_ner.cfg,
      trained for 200 steps on the embedded corpus: the speed of the default
      architecture, whatever its accuracy). "bare" is `for doc in nlp.pipe(texts)` over
      texts already in memory; "local" is the whole backend: reading and
      parsing JSONL, the pipeline, extraction, aggregation, checkpoints.
2. Ray (2 actors) vs local on a generated 100,000-record JSONL (seed 0), with
   the graphs compared edge for edge. Ray is timed once started (`ray.init`
   is timed apart); its time includes starting the actors (each loads the
   pipeline), the grouped sum and collecting the rows.

Each measurement runs in a fresh child process, which also gives its peak
memory. Work files go to benchmarks/work/network/ (git-ignored).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from common import ROOT, WORK, command_line, machine_description, today, write_section

NETWORK_WORK = WORK / "network"
MD_MODEL = ROOT.parent / "shared" / "models" / "en_core_web_md-3.8.0"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, model: str, corpus: str, extra: Dict[str, Any]) -> Dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from spacy_bilstm.network import ExtractOptions, build_network
    from spacy_bilstm.network.checkpoint import Checkpoint
    from spacy_bilstm.network.local_backend import run_jsonl
    from spacy_bilstm.network.pipeline import load_pipeline
    from spacy_bilstm.network.sources import JsonlSource

    options = ExtractOptions()
    if kind in ("bare", "local", "pair"):
        nlp = load_pipeline(model, need_sentences=True)
    if kind == "pair":
        # Alternate bare and local runs in one process, same warm pipeline.
        texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf8")]
        rows = []
        for _ in range(int(extra["reps"])):
            began, cpu = time.perf_counter(), time.process_time()
            for _ in nlp.pipe(texts, batch_size=256):
                pass
            bare = (time.perf_counter() - began, time.process_time() - cpu)
            checkpoint = Checkpoint.open(
                NETWORK_WORK / "bench.checkpoint", {"bench": 1}, resume=False, restart=True
            )
            began, cpu = time.perf_counter(), time.process_time()
            result = run_jsonl(nlp, JsonlSource(corpus), options, checkpoint=checkpoint, progress=False)
            local = (time.perf_counter() - began, time.process_time() - cpu)
            checkpoint.remove()
            assert result.report.used == len(texts)
            rows.append(
                {"bare_wall": bare[0], "bare_cpu": bare[1], "local_wall": local[0], "local_cpu": local[1]}
            )
        return {"docs": len(texts), "rows": rows}
    if kind == "local":
        checkpoint = Checkpoint.open(
            NETWORK_WORK / "bench.checkpoint", {"bench": 2}, resume=False, restart=True
        )
        began = time.perf_counter()
        result = run_jsonl(nlp, JsonlSource(corpus), options, checkpoint=checkpoint, progress=False)
        seconds = time.perf_counter() - began
        checkpoint.remove()
    elif kind == "ray":
        import ray

        from spacy_bilstm.network.ray_backend import run_ray

        began = time.perf_counter()
        ray.init(num_cpus=int(extra["workers"]), include_dashboard=False, logging_level="ERROR")
        init_seconds = time.perf_counter() - began
        checkpoint = Checkpoint.open(
            NETWORK_WORK / "bench-ray.checkpoint", {"bench": 3}, resume=False, restart=True
        )
        began = time.perf_counter()
        result = run_ray(
            model,
            corpus,
            options,
            workers=int(extra["workers"]),
            checkpoint=checkpoint,
            progress=False,
            shutdown=False,
        )
        seconds = time.perf_counter() - began
        checkpoint.remove()
        ray.shutdown()
    else:
        raise ValueError(kind)
    network = build_network(result.aggregate, options)
    edges = [[e.source, e.target, e.weight, len(e.doc_ids)] for e in network.edges()]
    # The evidence snippets each edge keeps (at most K), compared across backends too.
    evidence = sorted(
        [min(a, b), max(a, b), [[item["doc_id"], item["char"]] for item in data.get("evidence", [])]]
        for a, b, data in network.graph.edges(data=True)
    )
    nodes = sorted([node, mentions] for node, mentions in network.graph.nodes(data="mentions"))
    out = {
        "docs": result.report.used,
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "edges": edges,
        "evidence": evidence,
        "nodes": nodes,
        "said": network.speakers.number_of_edges() if network.speakers is not None else 0,
    }
    if kind == "ray":
        out["init_seconds"] = init_seconds
    return out


def run_child(kind: str, model: Path, corpus: Path, **extra: Any) -> Dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, str(model), str(corpus), json.dumps(extra)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"child {kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(n_docs: int, ratio_docs: int) -> Dict[str, Path]:
    from synthetic_speeches import build_pipeline, write_jsonl

    NETWORK_WORK.mkdir(parents=True, exist_ok=True)
    model = NETWORK_WORK / "ruler-pipeline"
    if not model.exists():
        build_pipeline().to_disk(model)
    big = NETWORK_WORK / f"speeches-{n_docs}.jsonl"
    if not big.exists():
        write_jsonl(big, n_docs, seed=0)
    small = NETWORK_WORK / f"speeches-{ratio_docs}.jsonl"
    if not small.exists():
        write_jsonl(small, ratio_docs, seed=0)
    return {"model": model, "big": big, "small": small}


def prepare_bilstm_ner(steps: int = 200) -> Path:
    """A bilstm_ner pipeline of the default architecture, trained briefly on
    the embedded corpus with `spacy train` (cached)."""
    out = NETWORK_WORK / "bilstm-ner-train"
    model = out / "model-last"
    if model.exists():
        return model
    data = NETWORK_WORK / "embedded-ner"
    corpus = ROOT / "corpus" / "ner.jsonl"
    subprocess.run([sys.executable, "-m", "spacy_bilstm", "convert", "ner", str(corpus), str(data / "train.spacy"),
                    "--dev-output", str(data / "dev.spacy")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / "bilstm_ner.cfg"),
                    "--paths.train", str(data / "train.spacy"), "--paths.dev", str(data / "dev.spacy"),
                    "--training.max_steps", str(steps), "--training.logger.progress_bar", "false",
                    "--output", str(out)], check=True, stdout=subprocess.DEVNULL)
    return model


def _ratio_rows(result: Dict[str, Any]) -> Dict[str, float]:
    rows = result["rows"]
    docs = result["docs"]
    bare_wall = statistics.median(r["bare_wall"] for r in rows)
    local_wall = statistics.median(r["local_wall"] for r in rows)
    bare_cpu = statistics.median(r["bare_cpu"] for r in rows)
    local_cpu = statistics.median(r["local_cpu"] for r in rows)
    return {
        "docs": docs,
        "reps": len(rows),
        "bare_wall": docs / bare_wall,
        "local_wall": docs / local_wall,
        "ratio_wall": bare_wall / local_wall,
        "ratio_cpu": bare_cpu / local_cpu,
        "ratios_wall": [r["bare_wall"] / r["local_wall"] for r in rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000, help="records for Ray vs local")
    parser.add_argument("--ratio-docs", type=int, default=10_000, help="records for local vs bare nlp.pipe")
    parser.add_argument("--reps", type=int, default=3, help="alternating bare/local repetitions")
    parser.add_argument("--md-docs", type=int, default=600, help="records for the statistical pipeline")
    parser.add_argument("--ner-docs", type=int, default=2000, help="records for the bilstm_ner pipeline")
    parser.add_argument("--skip-ner", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-md", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()

    paths = prepare(args.docs, args.ratio_docs)
    load = os.getloadavg()[0]
    results: Dict[str, Any] = {}
    print("local vs bare nlp.pipe, rule-based pipeline …", flush=True)
    results["ruler"] = _ratio_rows(run_child("pair", paths["model"], paths["small"], reps=args.reps))
    print(json.dumps(results["ruler"]), flush=True)
    if not args.skip_md and MD_MODEL.exists():
        md_corpus = NETWORK_WORK / f"speeches-md-{args.md_docs}.jsonl"
        if not md_corpus.exists():
            from synthetic_speeches import write_jsonl

            write_jsonl(md_corpus, args.md_docs, seed=1)
        print("local vs bare nlp.pipe, en_core_web_md …", flush=True)
        results["md"] = _ratio_rows(run_child("pair", MD_MODEL, md_corpus, reps=2))
        print(json.dumps(results["md"]), flush=True)
    if not args.skip_ner:
        ner_corpus = NETWORK_WORK / f"speeches-ner-{args.ner_docs}.jsonl"
        if not ner_corpus.exists():
            from synthetic_speeches import write_jsonl

            write_jsonl(ner_corpus, args.ner_docs, seed=2)
        print("local vs bare nlp.pipe, bilstm_ner …", flush=True)
        results["bilstm_ner"] = _ratio_rows(run_child("pair", prepare_bilstm_ner(), ner_corpus, reps=args.reps))
        print(json.dumps(results["bilstm_ner"]), flush=True)
    if not args.skip_ray:
        print(f"local on {args.docs} records …", flush=True)
        local = run_child("local", paths["model"], paths["big"])
        print(f"  {local['seconds']:.1f} s", flush=True)
        print(f"ray ({args.workers} workers) on {args.docs} records …", flush=True)
        distributed = run_child("ray", paths["model"], paths["big"], workers=args.workers)
        print(
            f"  {distributed['seconds']:.1f} s (+ {distributed['init_seconds']:.1f} s ray.init)", flush=True
        )
        same = local["edges"] == distributed["edges"] and local["nodes"] == distributed["nodes"]
        same = same and local["evidence"] == distributed["evidence"]
        same = same and local["said"] == distributed["said"]
        results["ray"] = {"local": local, "ray": distributed, "identical": same}
        print(f"  identical graphs: {same}", flush=True)
        # Memory as the job grows: the same backend on a tenth of the records.
        print(f"local on {args.docs // 10} records (memory scaling) …", flush=True)
        tenth = NETWORK_WORK / f"speeches-{args.docs // 10}.jsonl"
        if not tenth.exists():
            from synthetic_speeches import write_jsonl

            write_jsonl(tenth, args.docs // 10, seed=0)
        results["memory"] = {"tenth": run_child("local", paths["model"], tenth), "full": local}
    load_after = os.getloadavg()[0]
    body = report(args, results, paths, (load, load_after))
    print(body)
    if not args.no_write:
        write_section("network", body)


def report(args: argparse.Namespace, results: Dict[str, Any], paths: Dict[str, Path], load: tuple) -> str:
    lines: List[str] = [
        "## Actor networks (`network` command)",
        "",
        f"Command: `{command_line()}`  ",
        f"Machine: {machine_description()}; `nproc` = {os.cpu_count()}  ",
        f"Date: {today()}. Load average before/after: {load[0]:.1f} / {load[1]:.1f}"
        + (" — the cores were shared with other jobs, so absolute numbers are noisy" if max(load) > 1.5 else "")
        + "; ratios come from alternating runs in one process.",
        "",
        "### Local backend vs the bare `nlp.pipe` that feeds it",
        "",
        "| pipeline | records | bare nlp.pipe (docs/s) | local backend (docs/s) | ratio (wall, median) | "
        "ratio (CPU, median) | ratios per repetition |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {
        "ruler": "sentencizer + entity_ruler (synthetic)",
        "md": "en_core_web_md (full pipeline)",
        "bilstm_ner": "bilstm_ner (default config) + sentencizer",
    }
    for key in ("ruler", "md", "bilstm_ner"):
        if key in results:
            r = results[key]
            lines.append(
                f"| {names[key]} | {r['docs']:,} | {r['bare_wall']:,.0f} | {r['local_wall']:,.0f} | "
                f"{r['ratio_wall']:.2f} | {r['ratio_cpu']:.2f} | {', '.join(f'{x:.2f}' for x in r['ratios_wall'])} |"
            )
    if "ray" in results:
        local, distributed = results["ray"]["local"], results["ray"]["ray"]
        size = paths["big"].stat().st_size / 1024**2
        lines += [
            "",
            f"### Ray ({args.workers} workers) vs local, {local['docs']:,} records ({size:.0f} MiB JSONL)",
            "",
            "| backend | seconds | docs/s | peak driver RSS (MiB) | nodes | edges |",
            "|---|---|---|---|---|---|",
            f"| local | {local['seconds']:.1f} | {local['docs'] / local['seconds']:,.0f} | "
            f"{local['peak_rss_mb']:.0f} | {len(local['nodes'])} | {len(local['edges'])} |",
            f"| ray, once started | {distributed['seconds']:.1f} | {distributed['docs'] / distributed['seconds']:,.0f} | "
            f"{distributed['peak_rss_mb']:.0f} | {len(distributed['nodes'])} | {len(distributed['edges'])} |",
            "",
            f"`ray.init` took {distributed['init_seconds']:.1f} s more. Same graph, edge for edge "
            f"(weights, document counts, the evidence snippets kept, node mentions, speaker edges): "
            f"**{results['ray']['identical']}**. Speedup once started: {local['seconds'] / distributed['seconds']:.2f}×.",
        ]
    if "memory" in results:
        tenth, full = results["memory"]["tenth"], results["memory"]["full"]
        evidence = sum(len(snippets) for _, _, snippets in full["evidence"])
        lines += [
            "",
            "### Memory as the job grows (local backend, up to 5 evidence sentences per edge)",
            "",
            "| records | peak RSS (MiB) | edges | evidence sentences kept |",
            "|---|---|---|---|",
            f"| {tenth['docs']:,} | {tenth['peak_rss_mb']:.0f} | {len(tenth['edges'])} | "
            f"{sum(len(snippets) for _, _, snippets in tenth['evidence'])} |",
            f"| {full['docs']:,} | {full['peak_rss_mb']:.0f} | {len(full['edges'])} | {evidence} |",
            "",
            f"Ten times the records: peak RSS ×{full['peak_rss_mb'] / tenth['peak_rss_mb']:.2f}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))))
    else:
        main()
