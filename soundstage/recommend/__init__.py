"""Recommender capability: one data path, interactions → model → ranked items.

`data` loads user–item events (generic CSV or MovieLens) into one numpy-backed `Interactions`
type; `split` makes the train/test splits the evaluation protocol needs. Models and metrics
build on those two and never parse files themselves.
"""
