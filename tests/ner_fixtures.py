"""A tiny annotated set and an overfit `bilstm_ner` pipeline for the tests."""
from typing import List, Tuple

import spacy
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed

TRAIN_DATA: List[Tuple[str, List[Tuple[int, int, str]]]] = [
    ("Margaret Okafor met Tomas Reyes in Brussels on Tuesday .", [(0, 15, "PER"), (20, 31, "PER"), (35, 43, "LOC")]),
    ("The European Commission rejected the Treasury plan .", [(4, 23, "ORG"), (37, 45, "ORG")]),
    ("Mr Hollis told the Labour conference in Leeds that the NHS needs money .", [(3, 9, "PER"), (19, 25, "ORG"), (40, 45, "LOC"), (55, 58, "ORG")]),
    ("French and German ministers arrived in Strasbourg .", [(0, 6, "MISC"), (11, 17, "MISC"), (39, 49, "LOC")]),
    ("Nobody spoke .", []),
    ("Zoë Ångström visited Zürich 🇨🇭 with the Green Party .", [(0, 12, "PER"), (21, 27, "LOC"), (40, 51, "ORG")]),
]

# Two CoNLL-2003 sentences (IOB1) as raw text, for commands that read a data
# folder laid out as the shared data (conll2003/eng.train).
RAW_CONLL = """-DOCSTART- -X- O O

The DT B-NP O
Commission NNP I-NP I-ORG
told NN I-NP O
Parliament NNP I-NP I-ORG
in IN I-PP O
Brussels NNP I-NP I-LOC
. . O O

Mr NNP I-NP O
Smith NNP I-NP I-PER
spoke VBD I-VP O
for IN I-PP O
Labour NNP I-NP I-ORG
. . O O
"""


def make_examples(nlp: Language) -> List[Example]:
    return [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in TRAIN_DATA]


def overfit_pipeline(n_iter: int = 80, config=None) -> Language:
    """Train `bilstm_ner` on TRAIN_DATA until it reproduces it exactly."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("bilstm_ner", config=config or {})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(n_iter):
        nlp.update(examples, sgd=optimizer)
    return nlp


def ents_of(doc) -> List[Tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]
