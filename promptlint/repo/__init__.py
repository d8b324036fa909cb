"""Stage 2 of the pipeline: the repository index (files, tree-sitter symbols, routes, imports) and
the resolution of what a prompt mentions to files that exist."""
