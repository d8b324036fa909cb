"""Stage 1 of the pipeline: the prompt as text (source, code-like spans, NLP analysis)."""
