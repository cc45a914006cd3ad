"""A synthetic parliamentary corpus and a rule-based pipeline to go with it.

For the tests and benchmarks of the network command (a fixture, so it does
not ship in the wheel), where a real corpus would be too big to ship or too
slow to annotate. The pipeline is a
real spaCy pipeline (``sentencizer`` + ``entity_ruler``) that finds the
actors the generator writes, in the forms political text uses: full names,
titles with surnames, honorifics, surnames alone and possessives. The text is
generated from templates with a fixed seed; it describes nothing that
happened.
"""

import json
import random
from pathlib import Path
from typing import Dict, Iterator, List, Tuple, Union

import spacy
from spacy.language import Language

from spacy_bilstm.io import atomic_open

PEOPLE: Tuple[Tuple[str, str, str], ...] = (
    ("Boris", "Johnson", "Conservative"),
    ("Keir", "Starmer", "Labour"),
    ("Rishi", "Sunak", "Conservative"),
    ("Theresa", "May", "Conservative"),
    ("Jeremy", "Corbyn", "Labour"),
    ("Ed", "Miliband", "Labour"),
    ("David", "Miliband", "Labour"),
    ("Nicola", "Sturgeon", "SNP"),
    ("Angela", "Rayner", "Labour"),
    ("Rachel", "Reeves", "Labour"),
    ("Jeremy", "Hunt", "Conservative"),
    ("Michael", "Gove", "Conservative"),
    ("Priti", "Patel", "Conservative"),
    ("Ed", "Davey", "Liberal Democrat"),
    ("Caroline", "Lucas", "Green"),
    ("Diane", "Abbott", "Labour"),
    ("Jacob", "Rees-Mogg", "Conservative"),
    ("Yvette", "Cooper", "Labour"),
    ("Stephen", "Flynn", "SNP"),
    ("Penny", "Mordaunt", "Conservative"),
)
ORGANISATIONS: Tuple[str, ...] = (
    "the Treasury",
    "the Home Office",
    "the Bank of England",
    "the European Commission",
    "NHS England",
    "the Trades Union Congress",
    "the Office for Budget Responsibility",
    "the Electoral Commission",
    "the Confederation of British Industry",
    "the Migration Advisory Committee",
)
PLACES: Tuple[str, ...] = ("Scotland", "Wales", "Brussels", "Westminster", "Northern Ireland", "London")
TOPICS: Tuple[str, ...] = (
    "the energy price cap",
    "the housing bill",
    "the rail strikes",
    "the spending review",
    "the immigration white paper",
    "the climate targets",
    "the trade agreement",
    "NHS waiting lists",
    "the windfall tax",
    "the ferry contracts",
    "the levelling up fund",
    "the policing bill",
)
TEMPLATES: Tuple[str, ...] = (
    "{P} criticised {P} over {T}.",
    "{P} told the House that {O} had underestimated {T}.",
    "Speaking in {L}, {P} said {P} had no plan for {T}.",
    "{P} and {P} clashed over {T} during questions to {O}.",
    "The report from {O} on {T} was welcomed by {P}.",
    "{P} asked whether {O} would publish its assessment of {T}.",
    "{POSS} proposal on {T} was rejected by {O}.",
    "According to {P}, {T} will cost {L} more than {O} admits.",
    "I agree with {P} that {T} needs cross-party support.",
    "{P} wrote to {O} and to {P} about {T}.",
    "Members on all sides, including {P}, questioned {T}.",
    "The minister's answer on {T} did not satisfy {P}.",
)
TITLES: Tuple[str, ...] = ("Mr", "Ms", "Dr", "Sir", "the Rt Hon")


def _person_forms(first: str, last: str) -> List[str]:
    full = f"{first} {last}"
    return [full, last, f"Mr {last}", f"Ms {last}", f"Dr {last}", f"Sir {full}", f"the Rt Hon {full}"]


def build_pipeline() -> Language:
    """A blank English pipeline with a sentencizer and an entity ruler that
    knows the corpus's people (PERSON), organisations (ORG) and places (GPE).

    RETURNS (Language): The pipeline, ready to save with `to_disk`.
    """
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    patterns: List[Dict[str, str]] = []
    for first, last, _ in PEOPLE:
        patterns.extend({"label": "PERSON", "pattern": form} for form in _person_forms(first, last))
    for name in ORGANISATIONS:
        patterns.append({"label": "ORG", "pattern": name.replace("the ", "", 1)})
    patterns.extend({"label": "GPE", "pattern": place} for place in PLACES)
    ruler.add_patterns(patterns)
    return nlp


def _mention(rng: random.Random, person: Tuple[str, str, str], first_in_doc: bool) -> str:
    first, last, _ = person
    if first_in_doc:
        return rng.choice(
            [f"{first} {last}", f"{first} {last}", f"the Rt Hon {first} {last}", f"Sir {first} {last}"]
        )
    return rng.choice([f"{first} {last}", last, f"Mr {last}", f"Ms {last}", f"Dr {last}"])


def _sentence(rng: random.Random, seen: set) -> str:
    template = rng.choice(TEMPLATES)
    parts = []
    for piece in template.split("{"):
        if "}" not in piece:
            parts.append(piece)
            continue
        slot, rest = piece.split("}", 1)
        if slot in ("P", "POSS"):
            person = rng.choice(PEOPLE)
            text = _mention(rng, person, person not in seen)
            seen.add(person)
            parts.append(text + "'s" if slot == "POSS" else text)
        elif slot == "O":
            parts.append(rng.choice(ORGANISATIONS))
        elif slot == "L":
            parts.append(rng.choice(PLACES))
        else:
            parts.append(rng.choice(TOPICS))
        parts.append(rest)
    sentence = "".join(parts)
    return sentence[0].upper() + sentence[1:]


def generate_records(n: int, seed: int = 0) -> Iterator[Dict[str, str]]:
    """Yield `n` speech records: id, date, speaker, party and text.

    Texts have one to three paragraphs (separated by a blank line) of one to
    three sentences; most records name a speaker.

    n (int): How many records.
    seed (int): The random seed (the same seed gives the same records).
    YIELDS (Dict[str, str]): One record.
    """
    rng = random.Random(seed)
    for i in range(n):
        seen: set = set()
        paragraphs = [
            " ".join(_sentence(rng, seen) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 3))
        ]
        record = {
            "id": f"speech-{i:07d}",
            "date": f"{rng.randint(2019, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "text": "\n\n".join(paragraphs),
        }
        if rng.random() < 0.9:
            first, last, party = rng.choice(PEOPLE)
            record["speaker"] = rng.choice([f"{first} {last}", f"Mr {first} {last}", f"{first} {last} MP"])
            record["party"] = party
        yield record


def write_jsonl(path: Union[str, Path], n: int, seed: int = 0) -> Path:
    """Write `generate_records(n, seed)` as JSONL, atomically.

    path (Union[str, Path]): The file.
    n (int): How many records.
    seed (int): The random seed.
    RETURNS (Path): The path.
    """
    path = Path(path)
    with atomic_open(path, "w") as f:
        for record in generate_records(n, seed):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
