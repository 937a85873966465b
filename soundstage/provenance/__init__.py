"""Provenance: content credentials (C2PA), watermarks and AI disclosure on every export.

types.py       Detection (a watermark detector's answer), shared by the detectors
keys.py        the signing chain (root → intermediate → leaf) and the watermark key,
               in the data dir with 0600 permissions; never in a package
text_mark.py   keyed green-list watermark (Kirchenbauer et al. 2023) for the samplers
audio_mark.py  keyed spread-spectrum watermark in rendered audio
"""
