"""The spaCy components `bilstm_ner` and `lstm_textcat`, the base class they
share, and the helpers only they use (heap trimming, out-of-memory
splitting, span probabilities). spaCy finds the factories through entry
points; importing this package loads none of them."""
