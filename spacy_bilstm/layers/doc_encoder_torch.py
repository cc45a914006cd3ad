"""Plain torch modules for the recurrent document encoder (no spaCy or thinc here).

A document reaches the encoder as one or more *segments* (the whole document,
its head, its head and tail, or consecutive chunks), and the pooled vector of
a document is computed over the tokens of all its segments. Documents with no
segment (no tokens) pool to zeros.
"""
from typing import Optional, Tuple, Union

import torch
from torch import nn

from .recurrent_torch import MaskedRNN

POOLINGS = ("last", "mean", "max", "attention")
State = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]


def check_pooling(pooling: str) -> None:
    """Refuse an unknown pooling name.

    pooling (str): "last", "mean", "max" or "attention".
    RAISES (ValueError): Any other name.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"Unknown pooling '{pooling}': choose one of {list(POOLINGS)}.")


class DocEncoderRNN(nn.Module):
    """Encode documents with a `MaskedRNN`, optionally conditioned on a
    stance target, and pool each document to one vector.

    Target conditioning is conditional encoding (Augenstein et al. 2016): a
    separate RNN reads the target, and its final state (per layer and
    direction) is the text RNN's initial state. Segments without a target
    start from a zero state, which is what an unconditioned RNN does, so the
    same model is a plain classifier for documents without a target. With
    attention pooling the target's final state also joins the attention
    query.

    n_in (int): Input width (token vectors).
    hidden (int): Hidden width per direction.
    depth (int): Stacked layers.
    cell (str): "lstm", "gru" or "rnn".
    bidirectional (bool): Add a backward direction.
    dropout (float): Dropout on the RNN inputs, between layers and on the
        pooled vector.
    pooling (str): "last", "mean", "max" or "attention".
    use_target (bool): Build the target encoder.
    attention_width (int): Hidden width of the attention scorer.
    """

    def __init__(
        self,
        n_in: int,
        hidden: int,
        depth: int = 1,
        cell: str = "lstm",
        bidirectional: bool = True,
        dropout: float = 0.0,
        pooling: str = "max",
        use_target: bool = False,
        attention_width: int = 64,
    ) -> None:
        super().__init__()
        check_pooling(pooling)
        self.pooling = pooling
        self.cell = cell
        self.n_directions = 2 if bidirectional else 1
        self.text_rnn = MaskedRNN(n_in, hidden, depth, cell, bidirectional, dropout)
        self.target_rnn = (
            MaskedRNN(n_in, hidden, depth, cell, bidirectional, dropout) if use_target else None
        )
        self.n_out = self.text_rnn.n_out
        if pooling == "attention":
            self.attention_key = nn.Linear(self.n_out, attention_width)
            self.attention_query = (
                nn.Linear(self.n_out, attention_width, bias=False) if use_target else None
            )
            self.attention_score = nn.Linear(attention_width, 1, bias=False)
        self.output_dropout = nn.Dropout(dropout)

    def forward(
        self,
        padded: torch.Tensor,
        lengths: torch.Tensor,
        segment_doc: torch.Tensor,
        n_docs: int,
        target_padded: Optional[torch.Tensor] = None,
        target_lengths: Optional[torch.Tensor] = None,
        segment_target: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Pool each document's segments into one vector.

        padded (torch.Tensor): (S, T, n_in) segment token vectors; S >= 1.
        lengths (torch.Tensor): (S,) segment lengths (>= 1).
        segment_doc (torch.Tensor): (S,) the document of each segment, in
            ascending order (a document's segments are consecutive).
        n_docs (int): The number of documents B.
        target_padded (Optional[torch.Tensor]): (U, T', n_in) token vectors
            of the distinct targets in the batch, or None.
        target_lengths (Optional[torch.Tensor]): (U,) target lengths.
        segment_target (Optional[torch.Tensor]): (S,) the target of each
            segment's document, -1 for none.
        RETURNS (torch.Tensor): (B, n_out) pooled document vectors.
        """
        device = padded.device
        segment_doc = segment_doc.to(device)
        initial_state = None
        target_vectors = None
        if self.target_rnn is not None and target_padded is not None and target_padded.shape[0]:
            # Row 0 is the zero state of segments without a target.
            select = segment_target.to(device) + 1
            target_state = self.target_rnn.final_states(target_padded, target_lengths)
            initial_state = _map_state(target_state, lambda h: _gather_rows(h, select, dim=1))
            target_vectors = _gather_rows(self._final_vector(target_state), select, dim=0)
        outputs, _ = self.text_rnn(padded, lengths, initial_state)
        if self.pooling == "last":
            pooled = _mean_by_index(self.text_rnn.final_hidden(outputs, lengths), segment_doc, n_docs)
        else:
            n_steps = outputs.shape[1]
            mask = torch.arange(n_steps, device=device)[None, :] < lengths.to(device)[:, None]
            # Row-major selection keeps each document's tokens in order.
            tokens = outputs[mask]
            token_segment = torch.arange(outputs.shape[0], device=device)[:, None].expand_as(mask)[mask]
            token_doc = segment_doc[token_segment]
            if self.pooling == "mean":
                pooled = _mean_by_index(tokens, token_doc, n_docs)
            elif self.pooling == "max":
                pooled = _max_by_index(tokens, token_doc, n_docs)
            else:
                keys = self.attention_key(tokens)
                if target_vectors is not None and self.attention_query is not None:
                    keys = keys + self.attention_query(target_vectors)[token_segment]
                scores = self.attention_score(torch.tanh(keys)).squeeze(1)
                weights = _softmax_by_index(scores, token_doc, n_docs)
                pooled = torch.zeros(
                    n_docs, tokens.shape[1], dtype=tokens.dtype, device=device
                ).index_add(0, token_doc, weights[:, None] * tokens)
        return self.output_dropout(pooled)

    def _final_vector(self, state) -> torch.Tensor:
        """(N, n_out): the last layer's final hidden state, directions concatenated."""
        hidden = state[0] if isinstance(state, tuple) else state
        last_layer = hidden[-self.n_directions :]
        return torch.cat(list(last_layer), dim=1)


def _map_state(state, fn):
    if isinstance(state, tuple):
        return tuple(fn(part) for part in state)
    return fn(state)


def _gather_rows(values: torch.Tensor, select: torch.Tensor, dim: int) -> torch.Tensor:
    """Pick rows `select` from `values` along `dim`, where index 0 is a zero row."""
    shape = list(values.shape)
    shape[dim] = 1
    padded = torch.cat([values.new_zeros(shape), values], dim=dim)
    return padded.index_select(dim, select)


def _mean_by_index(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    sums = values.new_zeros(n, values.shape[1]).index_add(0, index, values)
    counts = values.new_zeros(n).index_add(0, index, values.new_ones(values.shape[0]))
    return sums / counts.clamp(min=1.0)[:, None]


def _max_by_index(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    expanded = index[:, None].expand_as(values)
    maxima = values.new_full((n, values.shape[1]), float("-inf")).scatter_reduce(
        0, expanded, values, reduce="amax", include_self=True
    )
    # Documents without tokens keep -inf; they pool to zeros instead.
    return torch.where(torch.isinf(maxima), torch.zeros_like(maxima), maxima)


def _softmax_by_index(scores: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Softmax of `scores` within each group of `index` (one group per doc)."""
    maxima = scores.new_full((n,), float("-inf")).scatter_reduce(
        0, index, scores.detach(), reduce="amax", include_self=True
    )
    exp = torch.exp(scores - maxima[index])
    totals = scores.new_zeros(n).index_add(0, index, exp)
    return exp / totals[index]
