"""The network command signs speaker edges with an `lstm_textcat` that reads
the speaker's party (`meta_fields`): the JSONL record's party must reach the
model, as it did in training, on the local backend."""
import json
from pathlib import Path

import spacy
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

from spacy_bilstm.extensions import install_extensions

from .cli_runner import run_cli
from .test_textcat_meta import PARTY_LABEL, TRAIN_TEXTS, _model

# What the speeches say is the same for every party: only the party can sign
# an edge, and only if the backend hands it to the model.
SPEECH = "I rise to speak on this motion and I thank Meridian Steel"


def _pipeline_with_party_stance(path: Path) -> None:
    install_extensions()
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("lstm_textcat", config={"model": _model(use_target=False)})
    examples = []
    for text in TRAIN_TEXTS:
        for party, label in PARTY_LABEL.items():
            doc = nlp.make_doc(text)
            doc._.meta = {"party": party}
            examples.append(Example.from_dict(doc, {"cats": {"AGAINST": float(label == "AGAINST"),
                                                             "FAVOR": float(label == "FAVOR")}}))
    nlp.initialize(lambda: examples)
    optimizer = Adam(0.01)
    for _ in range(60):
        nlp.update(examples, sgd=optimizer)
    ruler = nlp.add_pipe("entity_ruler", first=True)
    ruler.add_patterns([{"label": "ORG", "pattern": "Meridian Steel"}])
    nlp.add_pipe("sentencizer", first=True)
    nlp.to_disk(path)


def test_speaker_edges_are_signed_by_the_party_the_record_gives(tmp_path, capsys):
    model = tmp_path / "pipeline"
    _pipeline_with_party_stance(model)
    corpus = tmp_path / "speeches.jsonl"
    speakers = {"Ann Con": "Con", "Bob Lab": "Lab", "Cat SNP": "SNP", "Dan LD": "LD"}
    with corpus.open("w", encoding="utf8") as f:
        for i, (speaker, party) in enumerate(speakers.items()):
            f.write(json.dumps({"id": f"s{i}", "text": SPEECH, "speaker": speaker, "party": party}) + "\n")
    out = tmp_path / "net" / "actors.gexf"
    code, _, err = run_cli(capsys, "network", model, corpus, "--out", out, "--formats", "json",
                           "--meta-fields", "party", "--no-progress")
    assert code == 0, err
    graph = json.loads((out.parent / "actors.speakers.json").read_text(encoding="utf8"))
    names = {node["id"]: node.get("label", node["id"]) for node in graph["nodes"]}
    signs = {}
    for edge in graph["links"] if "links" in graph else graph["edges"]:
        speaker = names[edge["source"]]
        signs[next(s for s in speakers if s.lower() in speaker.lower())] = edge["stance_mean"]
    assert set(signs) == set(speakers)
    for speaker, party in speakers.items():
        expected = 1 if PARTY_LABEL[party] == "FAVOR" else -1
        assert signs[speaker] * expected > 0.5, (speaker, signs)
