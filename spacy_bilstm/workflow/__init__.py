"""Helpers for the spaCy project workflow in `project.yml`.

* `evaluate`: score a trained pipeline on a DocBin, keeping the stance
  targets the classifier reads (``spacy evaluate`` drops them);
* `logs`: read the training logs that ``spacy.ConsoleLogger.v3`` writes;
* `report`: collect metrics, logs and the stance baselines (from
  `spacy_bilstm.baselines`, the module the benchmarks use too) into a
  summary JSON and a short report;
* `crossval`: k-fold cross-validation of a text classifier against the
  party-only rule;
* `plots`: the training curves as a PNG;
* `data`: check that the real corpora are in place, naming what to fetch;
* `convote`: build the ConVote stage-three TSV from the original archive.

The training logger the workflow's configs name is not here but in
`spacy_bilstm.training_logger`: `spacy train` finds it by its entry point.
Nothing here is imported by the components: the modules load matplotlib and
spaCy pipelines only when their functions run.
"""
