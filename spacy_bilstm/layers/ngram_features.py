"""Sparse n-gram features of documents for a linear text classifier: hashed
character n-grams of each token and word n-grams, counted per document, in
the (keys, values, lengths) format of thinc's `SparseLinear`."""
from functools import lru_cache
from typing import Callable, List, Tuple

import numpy
from spacy.attrs import LOWER
from spacy.strings import hash_string
from spacy.tokens import Doc
from thinc.api import Model, NumpyOps
from thinc.types import Floats1d, Ints1d

from ..errors import InputError
from ..extensions import STANCE_TARGET

WEIGHTINGS = ("count", "log", "log_l2")
# Mixes the string hash of a character n-gram, so that its key can never
# equal a word's key: "ism" the 3-gram and "ism" the word are different
# features, as they are in the SVM baseline's two vectorizers.
CHAR_SEED = 0x6E67  # "ng"
# A padded token (" word ") as scikit-learn's "char_wb" analyzer pads words.
BOUNDARY = " "

# Feature keys (uint64), their values (float32) and each doc's number of keys
# (int32): the input of thinc's SparseLinear.
NgramFeaturesOutT = Tuple[Ints1d, Floats1d, Ints1d]

_NUMPY_OPS = NumpyOps()
_OPTIONS = ("char_ngram_min", "char_ngram_max", "word_ngram_max", "attr", "weighting", "per_target")


def check_ngram_options(char_ngram_min: int, char_ngram_max: int, word_ngram_max: int, weighting: str) -> None:
    """Raise an InputError naming the option that is out of range.

    char_ngram_min (int): Shortest character n-gram (at least 1).
    char_ngram_max (int): Longest character n-gram; 0: no character n-grams.
    word_ngram_max (int): Longest word n-gram; 0: no word n-grams.
    weighting (str): One of WEIGHTINGS.
    """
    if char_ngram_min < 1:
        raise InputError(f"char_ngram_min must be at least 1, not {char_ngram_min}.")
    if char_ngram_max < 0 or (char_ngram_max and char_ngram_max < char_ngram_min):
        raise InputError(
            f"char_ngram_max ({char_ngram_max}) must be at least char_ngram_min "
            f"({char_ngram_min}), or 0 for no character n-grams."
        )
    if word_ngram_max < 0:
        raise InputError(f"word_ngram_max must be 0 (no word n-grams) or more, not {word_ngram_max}.")
    if char_ngram_max == 0 and word_ngram_max == 0:
        raise InputError("char_ngram_max and word_ngram_max are both 0: the model would have no features.")
    if weighting not in WEIGHTINGS:
        raise InputError(f"Unknown weighting '{weighting}': choose one of {list(WEIGHTINGS)}.")


@lru_cache(maxsize=2**16)
def char_ngram_keys(text: str, min_n: int, max_n: int) -> Ints1d:
    """The hashed character n-grams of one token, with repeats.

    The token is padded with a space on each side, so that n-grams at its
    edges ("ism " and " re" in " realism ") mark suffixes and prefixes; a
    padded token shorter than n gives itself once. Cached: a document's cost
    grows with its vocabulary, not its length.

    text (str): The token's (lower-cased) text; whitespace gives no n-grams.
    min_n (int): Shortest n-gram.
    max_n (int): Longest n-gram.
    RETURNS (Ints1d): uint64 keys, read-only.
    """
    grams: List[str] = []
    if text and not text.isspace():
        padded = BOUNDARY + text + BOUNDARY
        for n in range(min_n, max_n + 1):
            if n >= len(padded):
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    keys = hash64(numpy.asarray([hash_string(gram) for gram in grams], dtype="uint64"), CHAR_SEED)
    keys.flags.writeable = False
    return keys


def hash64(ids: Ints1d, seed: int) -> Ints1d:
    """The first 64 bits of murmurhash3's 128-bit digest of each uint64 id.

    ids (Ints1d): Contiguous uint64 ids.
    seed (int): The hash seed (uint32).
    RETURNS (Ints1d): uint64 keys, one per id.
    """
    return numpy.ascontiguousarray(_NUMPY_OPS.hash(ids, seed)).view("uint64")[:, 0].copy()


def NgramFeatures(
    char_ngram_min: int = 2,
    char_ngram_max: int = 5,
    word_ngram_max: int = 3,
    attr: int = LOWER,
    weighting: str = "count",
    per_target: bool = False,
) -> Model[List[Doc], NgramFeaturesOutT]:
    """Extract hashed n-gram features per document for `SparseLinear`.

    Character n-grams are read from each token's lower-cased text (see
    `char_ngram_keys`); word n-grams from the token attribute `attr`, the
    unigram key being the attribute's own hash and longer n-grams hashed by
    thinc's `ops.ngrams`. Each document's features are summed separately, so
    its features never depend on the batch. The arrays are numpy arrays:
    `SparseLinear` runs on the CPU (wrap both in `with_cpu`).

    char_ngram_min (int): Shortest character n-gram.
    char_ngram_max (int): Longest character n-gram; 0: none.
    word_ngram_max (int): Longest word n-gram; 0: none.
    attr (int): The spaCy attribute ID words are read by, e.g. LOWER.
    weighting (str): A feature's value: "count" (occurrences in the doc, as
        `spacy.TextCatBOW.v3`), "log" (1 + ln(count), scikit-learn's
        `sublinear_tf`) or "log_l2" ("log", with the character and the word
        features each scaled to unit L2 norm per document, as the TF-IDF SVM
        baseline's two vectorizers do, less the IDF).
    per_target (bool): Also give every feature a second key, mixed with the
        hash of the doc's stance target (`doc._.stance_target`), so that a
        linear model learns a weight per target beside the shared one: what
        the per-target SVMs of the SemEval-2016 baseline learn separately.
        A doc without a target gets only the shared keys.
    RETURNS (Model[List[Doc], Tuple[Ints1d, Floats1d, Ints1d]]): The layer.
    """
    check_ngram_options(char_ngram_min, char_ngram_max, word_ngram_max, weighting)
    return Model(
        "ngram_features",
        _forward,
        attrs={
            "char_ngram_min": char_ngram_min,
            "char_ngram_max": char_ngram_max,
            "word_ngram_max": word_ngram_max,
            "attr": int(attr),
            "weighting": weighting,
            "per_target": per_target,
        },
    )


def _forward(
    model: Model[List[Doc], NgramFeaturesOutT], docs: List[Doc], is_train: bool
) -> Tuple[NgramFeaturesOutT, Callable]:
    options = {name: model.attrs[name] for name in _OPTIONS}
    all_keys = []
    all_values = []
    for doc in docs:
        keys, values = doc_features(doc, **options)
        all_keys.append(keys)
        all_values.append(values)
    lengths = numpy.asarray([len(keys) for keys in all_keys], dtype="int32")
    keys = numpy.concatenate(all_keys) if all_keys else numpy.zeros((0,), dtype="uint64")
    values = numpy.concatenate(all_values) if all_values else numpy.zeros((0,), dtype="float32")

    def backprop(d_features: NgramFeaturesOutT) -> List[Doc]:
        return []

    return (keys, values, lengths), backprop


def doc_features(
    doc: Doc,
    *,
    char_ngram_min: int,
    char_ngram_max: int,
    word_ngram_max: int,
    attr: int,
    weighting: str,
    per_target: bool = False,
) -> Tuple[Ints1d, Floats1d]:
    """The distinct feature keys of one document and their values.

    doc (Doc): The document.
    char_ngram_min, char_ngram_max, word_ngram_max, attr, weighting,
        per_target: As for `NgramFeatures`.
    RETURNS (Tuple[Ints1d, Floats1d]): uint64 keys and float32 values.
    """
    blocks = []
    if char_ngram_max and len(doc):
        lower_ids, word_counts = numpy.unique(doc.to_array(LOWER), return_counts=True)
        per_word = [char_ngram_keys(doc.vocab.strings[int(key)], char_ngram_min, char_ngram_max) for key in lower_ids]
        sizes = [len(keys) for keys in per_word]
        keys = numpy.concatenate(per_word)
        blocks.append(_count(keys, numpy.repeat(word_counts, sizes).astype("float64"), weighting))
    if word_ngram_max and len(doc):
        unigrams = numpy.ascontiguousarray(doc.to_array(attr), dtype="uint64")
        ngrams = [unigrams] + [_NUMPY_OPS.ngrams(n, unigrams) for n in range(2, min(word_ngram_max, len(doc)) + 1)]
        keys = numpy.concatenate(ngrams)
        blocks.append(_count(keys, numpy.ones(len(keys), dtype="float64"), weighting))
    if not blocks:
        return numpy.zeros((0,), dtype="uint64"), numpy.zeros((0,), dtype="float32")
    keys = numpy.ascontiguousarray(numpy.concatenate([keys for keys, _ in blocks]), dtype="uint64")
    values = numpy.ascontiguousarray(numpy.concatenate([values for _, values in blocks]), dtype="float32")
    target = doc._.get(STANCE_TARGET) if per_target and doc.has_extension(STANCE_TARGET) else None
    if target:
        keys = numpy.concatenate([keys, target_keys(keys, target)])
        values = numpy.concatenate([values, values])
    return keys, values


def target_keys(keys: Ints1d, target: str) -> Ints1d:
    """The keys of the same features conjoined with a stance target: each
    key hashed with a seed taken from the target's string hash, so that the
    same n-gram under another target (or under none) is another feature.

    keys (Ints1d): uint64 feature keys.
    target (str): The stance target.
    RETURNS (Ints1d): uint64 keys, one per input key.
    """
    return hash64(keys, int(hash_string(target)) % (2**32))


def _count(keys: Ints1d, weights: numpy.ndarray, weighting: str) -> Tuple[Ints1d, numpy.ndarray]:
    unique, inverse = numpy.unique(keys, return_inverse=True)
    counts = numpy.bincount(inverse.ravel(), weights=weights, minlength=len(unique))
    if weighting == "count":
        return unique, counts
    values = 1.0 + numpy.log(counts)
    norm = numpy.sqrt((values**2).sum())
    if weighting == "log_l2" and norm > 0:
        values /= norm
    return unique, values
