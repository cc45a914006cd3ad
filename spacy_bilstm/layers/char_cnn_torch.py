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

    def forward(self, byte_ids: torch.Tensor) -> torch.Tensor:
        """(N, max_bytes) byte ids -> (N, n_filters) word features."""
        if byte_ids.shape[0] == 0:
            return byte_ids.new_zeros((0, self.conv.out_channels), dtype=self.embed.weight.dtype)
        hidden = self.conv(self.embed(byte_ids).transpose(1, 2))  # (N, F, C)
        is_pad = (byte_ids == PAD_ID).unsqueeze(1)
        # Padding must not win the max, or a word's features would depend on
        # how far it is padded.
        hidden = hidden.masked_fill(is_pad, torch.finfo(hidden.dtype).min)
        pooled = hidden.max(dim=2).values
        # A word of only padding cannot occur (every token has >= 1 byte),
        # but guard the value anyway so it can never reach the LSTM.
        return torch.where(is_pad.all(dim=2), torch.zeros_like(pooled), pooled)
