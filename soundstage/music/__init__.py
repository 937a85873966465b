"""Symbolic music: the data path of the Composer capability (issue 4).

    music21 corpus (Bach chorales, O'Neill's 1850, Ryan's Mammoth, Aird's Airs; never Essen)
    + ../shared/data/music/jsb_chorales
        → corpus.build_cache     MIDI cache + manifest.json (source, licence per piece)
        → midi_io.read_midi      Piece (types: Note / Track / Piece, times in seconds)
        → tokens.MusicTokenizer  BOS + Style/Mode/Tempo/Density/Emotion tokens + REMI + EOS
        → prepare.prepare        train/val .npy split by piece, per-piece offsets, meta.json

Later slices: model + training, sampling with conditions, the realism critic, spotting, render.
"""
