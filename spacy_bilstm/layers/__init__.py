"""thinc layers. Torch is imported inside the builders and the `*_torch`
modules, never at package import, so entry points load without it."""
