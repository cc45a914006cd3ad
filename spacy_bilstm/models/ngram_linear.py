"""A linear text classifier on hashed character and word n-grams: the
features of the classic stance SVM baseline, as a partner for `lstm_textcat`
trained jointly with the RNN."""
from typing import List, Optional, Union

from spacy.attrs import intify_attr
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear_v2, chain, softmax_activation, with_cpu
from thinc.types import Floats2d

from ..errors import InputError
from ..layers.ngram_features import NgramFeatures


@registry.architectures("spacy_bilstm.CharNgramLinear.v1")
def build_char_ngram_linear(
    exclusive_classes: bool,
    nO: Optional[int] = None,
    char_ngram_min: int = 2,
    char_ngram_max: int = 5,
    word_ngram_max: int = 3,
    attr: Union[str, int] = "LOWER",
    length: int = 2**18,
    weighting: str = "count",
    no_output_layer: bool = True,
    per_target: bool = False,
) -> Model[List[Doc], Floats2d]:
    """Docs -> counted, hashed character 2-5-grams and word 1-3-grams ->
    sparse linear layer -> class scores (the features of the TF-IDF SVM
    stance baseline). As the `linear_model` of `spacy_bilstm.LSTMTextCat.v1`
    (with `no_output_layer = true`) its scores join the RNN's before the
    softmax, like `spacy.TextCatBOW.v3`.

    Character n-grams are read per token, from its lower-cased text padded
    with a space on each side (scikit-learn's "char_wb"), not across the
    whole text as the baseline's "char" analyzer does: n-grams spanning two
    words mostly repeat what the word bigrams already say, and per-token
    n-grams are computed once per distinct word, so long speeches cost
    little. Whitespace tokens give no character n-grams.

    Each feature key (uint64: spaCy's string hash of the word, thinc's
    `ops.ngrams` for word n-grams, and thinc's `ops.hash` with a fixed seed
    over the string hash of a character n-gram) is hashed by `SparseLinear`
    into `length` buckets per class, with two fixed seeds, so a collision in
    one bucket is rarely a collision in both. The layer runs on the CPU.

    exclusive_classes (bool): With `no_output_layer = false`, a softmax
        (True) or a sigmoid per label (False).
    nO (Optional[int]): The number of labels; set by the component.
    char_ngram_min (int): Shortest character n-gram (padding included).
    char_ngram_max (int): Longest character n-gram; 0: no character n-grams.
    word_ngram_max (int): Longest word n-gram (from unigrams up); 0: no
        word n-grams.
    attr (Union[str, int]): The token attribute of word n-grams, e.g.
        "LOWER" or "ORTH". Character n-grams always read the lower case.
    length (int): Weight rows (hash buckets) per class.
    weighting (str): A feature's value: "count" (occurrences in the doc, as
        `spacy.TextCatBOW.v3`), "log" (1 + ln(count)) or "log_l2" ("log",
        the character and the word features each scaled to unit length per
        doc, as the SVM baseline's two TF-IDF vectorizers, less the IDF).
        Raw counts grow with the length of a speech; "log_l2" does not.
    no_output_layer (bool): Output raw class scores, as `lstm_textcat`
        needs; False adds a softmax (or sigmoid) for use on its own.
    per_target (bool): Also learn a weight per stance target for every
        feature (each key conjoined with `doc._.stance_target`), beside the
        shared one: the per-target SVMs of the SemEval-2016 baseline in one
        model. Docs without a target use the shared weights alone.
    RETURNS (Model[List[Doc], Floats2d]): (n_docs, n_labels) scores.
    """
    if length < 1:
        raise InputError(f"length (the number of hash buckets) must be at least 1, not {length}.")
    attr_id = intify_attr(attr)
    if attr_id is None:
        raise InputError(f"Unknown token attribute for attr: {attr!r} (try \"LOWER\" or \"ORTH\").")
    features = NgramFeatures(
        char_ngram_min, char_ngram_max, word_ngram_max, attr=attr_id, weighting=weighting, per_target=per_target
    )
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    linear = chain(features, sparse_linear)
    model = with_cpu(linear, linear.ops)
    if not no_output_layer:
        model = chain(model, softmax_activation() if exclusive_classes else Logistic())
    if nO is not None:
        model.set_dim("nO", nO)
    # lstm_textcat and spaCy's pipes set the number of labels on this ref.
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = not exclusive_classes
    return model
