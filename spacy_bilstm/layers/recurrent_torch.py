"""Plain torch modules for the recurrent encoders (no spaCy or thinc here)."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class PackedRNN(nn.Module):
    """A (bi)directional LSTM/GRU/RNN over packed sequences.

    Packing is what makes a document's output independent of its batch: the
    backward direction starts at each sequence's own last token, never at
    padding.

    n_in (int): Input width.
    hidden (int): Hidden width per direction.
    depth (int): Number of stacked layers.
    cell (str): "lstm", "gru" or "rnn".
    bidirectional (bool): Run a backward direction too.
    dropout (float): Dropout on the inputs and between layers.
    """

    def __init__(
        self,
        n_in: int,
        hidden: int,
        depth: int = 1,
        cell: str = "lstm",
        bidirectional: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Unknown cell '{cell}': choose one of {sorted(CELLS)}.")
        self.input_dropout = nn.Dropout(dropout)
        self.rnn = CELLS[cell](
            n_in,
            hidden,
            num_layers=depth,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if depth > 1 else 0.0,
        )
        self.n_out = hidden * (2 if bidirectional else 1)

    def forward(self, padded: torch.Tensor, lengths: torch.Tensor, initial_state=None):
        """Encode a padded batch.

        padded (torch.Tensor): (B, T, n_in) inputs; every length >= 1.
        lengths (torch.Tensor): (B,) lengths on the CPU.
        initial_state: Optional initial hidden state (as torch's RNNs take it).
        RETURNS (Tuple[torch.Tensor, Any]): (B, T, n_out) outputs, zero past
            each length, and the final hidden state.
        """
        packed = pack_padded_sequence(
            self.input_dropout(padded), lengths, batch_first=True, enforce_sorted=False
        )
        outputs, final_state = self.rnn(packed, initial_state)
        unpacked, _ = pad_packed_sequence(outputs, batch_first=True, total_length=padded.shape[1])
        return unpacked, final_state
