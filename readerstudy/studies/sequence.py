"""Each reader's order of cases: a seeded shuffle, so it is random per reader, stable across sessions and
re-derivable from the stored seed alone."""
from __future__ import annotations

import random

from .models import Case, Membership


def sequence_from_seed(case_ids: list[int], seed: int) -> list[int]:
    """The reader's order: the study's case ids, sorted, then shuffled by a generator seeded with ``seed``."""
    order = sorted(case_ids)
    random.Random(seed).shuffle(order)
    return order


def reader_sequence(membership: Membership) -> list[int]:
    """Case ids in the order this reader sees them."""
    case_ids = list(Case.objects.filter(study_id=membership.study_id).values_list("pk", flat=True))
    return sequence_from_seed(case_ids, membership.order_seed)
