"""The Ray backend on a real local Ray cluster gives the local backend's graph."""

import json
import shutil

import pytest

from spacy_bilstm.errors import InputError
from spacy_bilstm.network import ExtractOptions, Window, build_network
from spacy_bilstm.network.checkpoint import Checkpoint
from spacy_bilstm.network.local_backend import run_jsonl
from spacy_bilstm.network.pipeline import load_pipeline
from spacy_bilstm.network.ray_backend import plan_shards, run_ray
from spacy_bilstm.network.sources import JsonlSource, input_files
from benchmarks.synthetic_speeches import build_pipeline, write_jsonl

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "ruler"
    build_pipeline().to_disk(path)
    return path


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two JSONL shards, 300 records, with malformed lines in both."""
    directory = tmp_path_factory.mktemp("shards")
    for name, n, seed in (("part-a.jsonl", 170, 21), ("part-b.jsonl", 130, 22)):
        path = write_jsonl(directory / name, n, seed)
        lines = path.read_text(encoding="utf8").splitlines()
        lines.insert(17, '{"text": "unterminated')
        lines.insert(90, '["not", "an object"]')
        lines.insert(91, "")
        path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return directory


def _signature(network):
    def dump(graph):
        return json.dumps(
            [list(graph.nodes(data=True)), sorted(graph.edges(data=True))], sort_keys=True, default=str
        )

    return dump(network.graph), dump(network.speakers), json.dumps(network.summary, default=str)


def _local(model, shards, options, skip_invalid=True):
    nlp = load_pipeline(model, need_sentences=options.window.kind == "sentence")
    return run_jsonl(nlp, JsonlSource(shards, skip_invalid=skip_invalid), options, progress=False)


def test_ray_equals_local_edge_for_edge(cluster, model, shards, tmp_path):
    options = ExtractOptions(window=Window.parse("paragraph"))
    local = _local(model, shards, options)
    checkpoint = Checkpoint.open(tmp_path / "ckpt", {"test": 1}, resume=False, restart=False)
    distributed = run_ray(
        model, shards, options, skip_invalid=True, lines_per_shard=40, checkpoint=checkpoint, progress=False
    )
    assert distributed.aggregate == local.aggregate
    assert distributed.report.to_dict() == local.report.to_dict()
    assert distributed.report.examples == local.report.examples
    assert distributed.report.read == 304 and distributed.report.used == 300
    assert _signature(build_network(distributed.aggregate, options)) == _signature(
        build_network(local.aggregate, options)
    )
    # One checkpoint part per shard.
    n_shards = len(plan_shards(input_files(shards), 40))
    assert n_shards > 2
    assert len(list((tmp_path / "ckpt").glob("shard-*.parquet"))) == n_shards


def test_ray_keeps_the_local_evidence_edge_for_edge(cluster, model, shards, tmp_path):
    options = ExtractOptions(evidence=2)
    local = _local(model, shards, options)
    distributed = run_ray(model, shards, options, skip_invalid=True, lines_per_shard=25, progress=False)
    assert distributed.aggregate.evidence == local.aggregate.evidence
    edges = {
        which: {(u, v): d["evidence"] for u, v, d in build_network(result.aggregate, options).graph.edges(data=True)}
        for which, result in (("local", local), ("ray", distributed))
    }
    assert edges["ray"] == edges["local"]
    assert max(len(kept) for kept in edges["local"].values()) == 2
    # Each shard kept its own two per pair; the driver kept the same two as one pass.
    assert sum(len(kept) for kept in edges["local"].values()) > len(edges["local"])
    assert distributed.aggregate.speaker_evidence == local.aggregate.speaker_evidence
    said = {
        which: {(u, v): d["evidence"] for u, v, d in build_network(result.aggregate, options).speakers.edges(data=True)}
        for which, result in (("local", local), ("ray", distributed))
    }
    assert said["ray"] == said["local"] and max(len(kept) for kept in said["local"].values()) == 2


@pytest.mark.slow
def test_ray_resumes_from_finished_shards(cluster, model, shards, tmp_path):
    options = ExtractOptions()
    local = _local(model, shards, options)
    directory = tmp_path / "ckpt"
    first = Checkpoint.open(directory, {"test": 2}, resume=False, restart=False)
    run_ray(model, shards, options, skip_invalid=True, lines_per_shard=50, checkpoint=first, progress=False)
    parts = sorted(directory.glob("shard-*.parquet"))
    for part in parts[1::2]:
        part.unlink()  # as if the run had died before these shards finished
    (directory / ".shard-000001.parquet.x.tmp.parquet").write_bytes(b"half a file")
    again = Checkpoint.open(directory, {"test": 2}, resume=True, restart=False)
    resumed = run_ray(
        model, shards, options, skip_invalid=True, lines_per_shard=50, checkpoint=again, progress=False
    )
    assert 0 < resumed.resumed_records < resumed.report.read
    assert resumed.aggregate == local.aggregate
    assert resumed.report.to_dict() == local.report.to_dict()
    assert len(list(directory.glob("shard-*.parquet"))) == len(parts)


@pytest.mark.slow
def test_ray_raises_the_first_malformed_line_in_input_order(cluster, model, shards):
    with pytest.raises(InputError) as info:
        _local(model, shards, ExtractOptions(), skip_invalid=False)
    local_error = str(info.value)
    with pytest.raises(InputError) as info:
        run_ray(model, shards, ExtractOptions(), lines_per_shard=25, progress=False)
    assert str(info.value) == local_error
    assert local_error.startswith(f"{shards / 'part-a.jsonl'}:18: invalid JSON")


@pytest.mark.slow
def test_cli_ray_backend_matches_local(cluster, model, shards, tmp_path, capsys):
    from .test_network_cli import run_cli

    one = shutil.copy(shards / "part-a.jsonl", tmp_path / "in.jsonl")
    common = ["--skip-invalid", "--meta-fields", "party"]
    assert run_cli(capsys, model, one, "--out", tmp_path / "local" / "g.json", *common)[0] == 0
    code, stdout, _ = run_cli(
        capsys,
        model,
        one,
        "--out",
        tmp_path / "ray" / "g.json",
        *common,
        "--backend",
        "ray",
        "--lines-per-shard",
        "30",
    )
    assert code == 0 and "skipped (invalid_json): 1" in stdout
    for name in ("g.json", "g.speakers.json"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
