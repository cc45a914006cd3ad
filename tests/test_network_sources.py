"""Streaming input: malformed JSONL under the record policy, shards, DocBins, the local backend."""

import json

import pytest
from spacy.tokens import DocBin

from spacy_bilstm.errors import InputError
from spacy_bilstm.extensions import install_extensions
from spacy_bilstm.network import ExtractOptions, build_network
from spacy_bilstm.network.checkpoint import Checkpoint
from spacy_bilstm.network.local_backend import run_docbin, run_jsonl
from spacy_bilstm.network.ray_backend import plan_shards
from spacy_bilstm.network.sources import FieldMap, JsonlSource, Position, iter_lines
from benchmarks.synthetic_speeches import build_pipeline, generate_records, write_jsonl

GOOD = {"id": "a", "text": "Keir Starmer met Boris Johnson.", "date": "2020-01-01"}
BAD_LINES = [
    (b"\xff\xfe not utf8", "invalid_utf8"),
    (b'{"text": "a\x00b"}', "nul_byte"),
    (b'{"text": "nul \\u0000 escaped"}', "nul_byte"),
    (b'{"text": "unterminated', "invalid_json"),
    (b'["text", "a list"]', "not_object"),
    (b'"just a string"', "not_object"),
    (b'{"body": "no text field"}', "missing_text"),
    (b'{"text": 42}', "text_not_string"),
    (b'{"text": null}', "text_not_string"),
    (b'{"text": "ok", "speaker": {"name": "x"}}', "invalid_field"),
]


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline()


def _write(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@pytest.mark.parametrize("raw,reason", BAD_LINES)
def test_first_malformed_line_raises_with_file_and_line(tmp_path, raw, reason):
    path = _write(tmp_path / "in.jsonl", [json.dumps(GOOD).encode(), b"", raw, json.dumps(GOOD).encode()])
    records = JsonlSource(path).records()
    assert next(records).meta["id"] == "a"
    with pytest.raises(InputError) as info:
        next(records)
    assert info.value.reason == reason
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: ")


def test_skip_invalid_counts_every_reason_and_balances(tmp_path, nlp):
    lines = [json.dumps(GOOD).encode()]
    for raw, _ in BAD_LINES:
        lines += [raw, json.dumps({**GOOD, "id": None}).encode(), b"   "]
    lines.append(BAD_LINES[0][0])  # a malformed last line: counted after the last record
    path = _write(tmp_path / "in.jsonl", lines)
    result = run_jsonl(nlp, JsonlSource(path, skip_invalid=True), ExtractOptions(), progress=False)
    report = result.report
    assert report.used == 1 + len(BAD_LINES)
    expected = {}
    for _, reason in BAD_LINES + [BAD_LINES[0]]:
        expected[reason] = expected.get(reason, 0) + 1
    assert dict(report.skipped) == expected
    assert report.read == report.used + report.n_skipped and report.is_balanced()
    assert report.examples["invalid_utf8"][0].startswith(f"{path}:2: ")
    assert result.aggregate.n_docs == report.used


def test_default_ids_fields_and_blank_lines(tmp_path):
    lines = [
        json.dumps({"body": "A.", "when": "2021", "who": "Mr X", "party": "P", "extra": [1]}).encode(),
        b"",
        json.dumps({"body": "B.", "doc": 7}).encode(),
    ]
    path = _write(tmp_path / "speeches.jsonl", lines)
    fields = FieldMap(text="body", id="doc", date="when", speaker="who", meta=("party",))
    records = list(JsonlSource(path, fields).records())
    assert [r.meta for r in records] == [
        {"date": "2021", "speaker": "Mr X", "party": "P", "id": "speeches.jsonl:1"},
        {"id": 7},
    ]
    assert [r.after.line for r in records] == [1, 3]
    assert records[1].after == Position(0, path.stat().st_size, 3)


def test_directory_of_shards_resumes_from_a_position(tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "sub").mkdir()
    write_jsonl(shards / "b.jsonl", 3, seed=1)
    write_jsonl(shards / "a.jsonl", 2, seed=2)
    write_jsonl(shards / "sub" / "c.jsonl", 2, seed=3)
    (shards / "notes.txt").write_text("ignored")
    source = JsonlSource(shards)
    records = list(source.records())
    assert [p.name for p in source.files] == ["a.jsonl", "b.jsonl", "c.jsonl"]
    assert source.names == ["a.jsonl", "b.jsonl", "sub/c.jsonl"]
    assert len(records) == 7 and source.count_records() == 7
    rest = list(source.records(records[3].after))
    assert [r.meta["id"] for r in rest] == [r.meta["id"] for r in records[4:]]


def test_plan_shards_cover_every_line_once(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", 23, seed=0)
    with path.open("ab") as f:
        f.write(b'{"text": "no final newline"}')
    shards = plan_shards([path], lines_per_shard=5)
    assert [s.first_line for s in shards] == [1, 6, 11, 16, 21]
    numbers = [n for s in shards for n, _, _ in iter_lines(path, s.start, s.end, s.first_line)]
    assert numbers == list(range(1, 25))
    assert shards[-1].end == path.stat().st_size


def test_local_backend_equals_pure_extraction(tmp_path, nlp):
    from spacy_bilstm.network import extract_network

    path = write_jsonl(tmp_path / "c.jsonl", 60, seed=4)
    options = ExtractOptions()
    result = run_jsonl(nlp, JsonlSource(path), options, progress=False, batch_size=7)
    install_extensions()
    docs = []
    for record in generate_records(60, seed=4):
        doc = nlp(record["text"])
        doc._.meta = {k: v for k, v in record.items() if k in ("id", "date", "speaker")}
        docs.append(doc)
    assert result.aggregate == extract_network(docs, options)


def test_local_backend_checkpoints_and_resumes(tmp_path, nlp):
    path = write_jsonl(tmp_path / "c.jsonl", 50, seed=5)
    options = ExtractOptions()
    whole = run_jsonl(nlp, JsonlSource(path), options, progress=False)
    fingerprint = {"input": str(path)}
    checkpoint = Checkpoint.open(tmp_path / "ckpt", fingerprint, resume=False, restart=False)
    run_jsonl(nlp, JsonlSource(path), options, checkpoint=checkpoint, checkpoint_every=7, progress=False)
    assert len(checkpoint.state["parts"]) == 7  # after 7, 14, …, 49 records
    # Pretend the run died after the third checkpoint.
    state = dict(checkpoint.state)
    position = None
    for record in JsonlSource(path).records():
        if record.after.line == 21:
            position = record.after._asdict()
    state.update(parts=state["parts"][:3], position=position)
    report = state["report"]
    state["report"] = {**report, "read": 21, "used": 21}
    checkpoint.write_manifest(state)
    with pytest.raises(InputError, match="--resume"):
        Checkpoint.open(tmp_path / "ckpt", fingerprint, resume=False, restart=False)
    with pytest.raises(InputError, match="changed: input"):
        Checkpoint.open(tmp_path / "ckpt", {"input": "other"}, resume=True, restart=False)
    resumed = Checkpoint.open(tmp_path / "ckpt", fingerprint, resume=True, restart=False)
    assert resumed.resumed and sorted(p.name for p in (tmp_path / "ckpt").glob("part-*")) == state["parts"]
    result = run_jsonl(
        nlp, JsonlSource(path), options, checkpoint=resumed, checkpoint_every=7, progress=False
    )
    assert result.resumed_records == 21
    assert result.aggregate == whole.aggregate
    assert result.report.to_dict() == whole.report.to_dict()
    resumed.remove()
    assert not (tmp_path / "ckpt").exists()


def test_checkpoint_only_deletes_its_own_files(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    checkpoint = Checkpoint.open(tmp_path, {"x": 1}, resume=False, restart=False)
    checkpoint.write_manifest({"parts": [], "position": None, "report": None, "extra": {}})
    checkpoint.remove()
    assert (tmp_path / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "manifest.json").exists()


def test_docbin_input_with_and_without_the_pipeline(tmp_path, nlp):
    install_extensions()
    docbin = DocBin(store_user_data=True)
    for record in generate_records(20, seed=6):
        doc = nlp(record["text"])
        doc._.meta = {"id": record["id"], "date": record["date"]}
        docbin.add(doc)
    path = tmp_path / "docs.spacy"
    docbin.to_disk(path)
    options = ExtractOptions()
    kept = run_docbin(nlp, str(path), options, keep_ents=True, progress=False)
    rerun = run_docbin(nlp, str(path), options, progress=False)
    assert kept.report.read == kept.report.used == 20
    assert kept.aggregate == rerun.aggregate
    network = build_network(kept.aggregate)
    assert network.graph.number_of_edges() > 0
    assert all(
        doc_id.startswith("speech-") for _, _, ids in network.graph.edges(data="doc_ids") for doc_id in ids
    )
    (tmp_path / "broken.spacy").write_bytes(b"not a docbin")
    with pytest.raises(InputError, match="DocBin"):
        run_docbin(nlp, str(tmp_path / "broken.spacy"), options, progress=False)
