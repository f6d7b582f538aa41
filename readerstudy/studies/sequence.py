"""Each reader's order of cases: a seeded shuffle, so it is random per reader, stable across sessions and
re-derivable from the stored seed alone.

The order is derived by ``readerstudy.protocol.sequence`` (plain shuffle, or balanced blocks, with repeats and a
practice block when the study asks) and frozen per reader at their first access to an open study, so cases added
later are appended instead of reshuffling anyone's order.
"""
from __future__ import annotations

import random

from .models import Membership


def sequence_from_seed(case_ids: list[int], seed: int) -> list[int]:
    """The plain protocol's order: the study's case ids, sorted, then shuffled by a generator seeded with ``seed``."""
    order = sorted(case_ids)
    random.Random(seed).shuffle(order)
    return order


def reader_sequence(membership: Membership) -> list[int]:
    """Case ids in the order this reader sees them (a repeated case appears again at its repeat's place)."""
    from readerstudy.protocol.reading import reading_state

    return [slot.case_id for slot in reading_state(membership).sequence]
