"""The writing pipeline: what fills a screenplay's levels.

- `writers.choose_writer` picks a strategy for a backend: `guided` (an instruct model fills one
  constrained field at a time; the default), `fewshot` (Dramatron-style prompts for other
  LLMs), `planner` (rules, for the embedded drama-lm) with `dialogue` (drama-lm's speeches).
- `checks` refuses a small model's bad habits; `rerank` keeps the best candidate (MiniLM);
  `names` draws characters' names; `prompts/` holds the prompt texts and the name list.
"""
