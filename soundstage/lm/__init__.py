"""The embedded dialogue language model: a small decoder-only transformer we train ourselves.

Data path, one file per step (nanoGPT's shape):

    corpus.py     public-domain drama → `SPEAKER:\\nline\\n\\n` text, split into train / val
    tokenizer.py  byte-level BPE (`tokenizers`) trained on the train split
    prepare.py    corpus + tokenizer → token ids as .npy (uint16) + meta.json
    model.py      GPT in torch, for training only
    train.py      the training loop (CPU or GPU), writes a model directory
    runtime.py    the same network in numpy with a KV cache, for inference without torch
    sampling.py   temperature / top-k / top-p sampling with a seeded generator

A model directory holds `config.json`, `tokenizer.json` and one or more
`model*.safetensors` shards (float16). Nothing is pickled.

Only stdlib, numpy, tokenizers and safetensors are imported at module level here, so the
training script runs on machines that have torch but not the rest of soundstage's stack.
"""
