"""soundstage: an open-source generative-AI studio for media and entertainment teams.

The package root stays import-light on purpose: training code runs on machines that have
torch but not the web stack, and `soundstage --help` should not pay for torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
