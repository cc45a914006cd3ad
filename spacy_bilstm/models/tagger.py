"""The BiLSTM-CRF sequence tagger architecture."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Dropout, Linear, Model, chain, with_array
from thinc.types import Floats2d

from ..layers.crf import LinearChainCRF
from ..layers.recurrent import RecurrentEncoder


@registry.architectures("spacy_bilstm.BiLSTMCRFTagger.v1")
def build_bilstm_crf_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 128,
    depth: int = 1,
    cell: str = "lstm",
    dropout: float = 0.3,
    use_crf: bool = True,
    nO: Optional[int] = None,
) -> Model[List[Doc], List[Floats2d]]:
    """Tokens -> features -> BiLSTM -> emission scores (-> CRF layer).

    The model's output is the CRF layer's (ref "crf") `CRFScores`: the
    emission scores over BILUO tags, one (n_tokens, n_tags) array per doc,
    with the constrained transition scores that the component uses for its
    loss and for constrained decoding.

    tok2vec (Model[List[Doc], List[Floats2d]]): Token features: our
        `spacy_bilstm.WordCharEmbed.v1`, spaCy's embeddings, or a
        `spacy.Tok2VecListener.v1` to share a tok2vec component.
    hidden_width (int): LSTM width per direction.
    depth (int): Stacked BiLSTM layers.
    cell (str): "lstm" or "gru" (or "rnn").
    dropout (float): Dropout on the BiLSTM input, between its layers and
        on its output.
    use_crf (bool): Train with the CRF likelihood; False trains a per-token
        softmax (decoding stays constrained to valid BILUO sequences).
    nO (Optional[int]): Number of tags; set by the component from its labels.
    RETURNS (Model[List[Doc], List[Floats2d]]): The tagger.
    """
    # The widths between the layers are read from data in `initialize`.
    encoder = RecurrentEncoder(None, hidden_width, depth, cell, bidirectional=True, dropout=dropout)
    output_layer = Linear(nO=nO)
    crf = LinearChainCRF(nO=nO, use_crf=use_crf)
    model = chain(tok2vec, encoder, with_array(chain(Dropout(dropout), output_layer)), crf)
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("encoder", encoder)
    model.set_ref("output_layer", output_layer)
    model.set_ref("crf", crf)
    return model
