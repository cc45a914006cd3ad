"""A character CNN over the UTF-8 bytes of each word (plain torch)."""
import torch
from torch import nn

# Byte values 0-255 plus one padding id.
N_BYTE_IDS = 257
PAD_ID = 256


class ByteCNN(nn.Module):
    """Embed bytes, convolve, and max-pool over the real (unpadded) bytes.

    n_filters (int): Output width.
    byte_width (int): Byte embedding width.
    window (int): Convolution window, in bytes.
    """

    def __init__(self, n_filters: int, byte_width: int = 25, window: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(N_BYTE_IDS, byte_width, padding_idx=PAD_ID)
        self.conv = nn.Conv1d(byte_width, n_filters, window, padding=window // 2)

    def forward(self, byte_ids: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        """Word features for every token.

        byte_ids (torch.Tensor): (V, max_bytes) byte ids of V distinct words.
        inverse (torch.Tensor): (N,) the distinct-word row of each token.
        RETURNS (torch.Tensor): (N, n_filters) features.
        """
        if byte_ids.shape[0] == 0:
            return self.embed.weight.new_zeros((inverse.shape[0], self.conv.out_channels))
        hidden = self.conv(self.embed(byte_ids).transpose(1, 2))  # (N, F, C)
        is_pad = (byte_ids == PAD_ID).unsqueeze(1)
        # Padding must not win the max, or a word's features would depend on
        # how far it is padded.
        hidden = hidden.masked_fill(is_pad, torch.finfo(hidden.dtype).min)
        pooled = hidden.max(dim=2).values
        # A word of only padding cannot occur (every token has >= 1 byte),
        # but guard the value anyway so it can never reach the LSTM.
        pooled = torch.where(is_pad.all(dim=2), torch.zeros_like(pooled), pooled)
        return pooled.index_select(0, inverse)
