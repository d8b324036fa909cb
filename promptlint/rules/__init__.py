"""Stage 3 of the pipeline: the rule catalogue (data in `rules/`) and the typed checks that run it."""
