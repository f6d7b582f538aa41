"""Building the reader study's verification set from trained generators (plain PyTorch; never imports Django).

``python -m generation verification-set ...`` is the command line;
:func:`generation.verification.build_verification_set` is what the command, the Celery job and the demo all call.
"""

FORMAT_VERSION = 1
INFERENCE_MODES = ("deterministic", "stochastic")
"""deterministic: eval mode; stochastic: dropout and batch statistics on, as pix2pix's test script runs."""
