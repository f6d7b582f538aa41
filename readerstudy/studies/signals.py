"""What the set-up tells the apps above it, without knowing them (they connect in their ``ready``)."""
from django.dispatch import Signal

# A reader who may read now: a reader added to a study that is not a draft, or every reader of a study that opened.
# Sent with ``membership``, inside the transaction that made it so. Reading stores the reader's sequence.
reader_ready = Signal()
