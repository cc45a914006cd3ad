"""A tiny target-annotated stance corpus shared by the config and compare tests."""
from pathlib import Path
from typing import Tuple

import spacy
from spacy.tokens import DocBin

from spacy_bilstm.extensions import install_extensions

# (text, target, label): the same text can be for one target and against another.
STANCE_DATA = [
    ("We support the motion today", "Brexit", "support"),
    ("We oppose the motion today", "Brexit", "oppose"),
    ("I will vote yes on the bill", "Climate Change", "support"),
    ("I will vote no on the bill", "Climate Change", "oppose"),
    ("Leave now", "Brexit", "support"),
    ("Leave now", "Climate Change", "oppose"),
]


def write_stance_docbins(train_path: Path, dev_path: Path) -> Tuple[Path, Path]:
    """Write all of STANCE_DATA to `train_path` and its first four docs to
    `dev_path`, with cats, `doc._.stance_target` and a `group` in `doc._.meta`."""
    install_extensions()
    nlp = spacy.blank("en")
    docs = []
    for text, target, label in STANCE_DATA:
        doc = nlp.make_doc(text)
        doc.cats = {"support": float(label == "support"), "oppose": float(label == "oppose")}
        doc._.stance_target = target
        doc._.meta = {"group": target}
        docs.append(doc)
    DocBin(docs=docs, store_user_data=True).to_disk(train_path)
    DocBin(docs=docs[:4], store_user_data=True).to_disk(dev_path)
    return train_path, dev_path
