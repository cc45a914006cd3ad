"""Helpers for the spaCy project workflow in `project.yml`.

* `evaluate`: score a trained pipeline on a DocBin, keeping the stance
  targets the classifier reads (``spacy evaluate`` drops them);
* `logs`: read the training logs that ``spacy.ConsoleLogger.v3`` writes;
* `baselines`: majority-class and party-only stance baselines;
* `report`: collect metrics and logs into a summary JSON and a short report;
* `plots`: the training curves as a PNG;
* `data`: check that the real corpora are in place, naming what to fetch;
* `convote`: build the ConVote stage-three TSV from the original archive.

Nothing here is imported by the components: the modules load matplotlib and
spaCy pipelines only when their functions run.
"""
