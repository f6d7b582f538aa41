"""Each reader's order of cases: a seeded shuffle, so it is random per reader, stable across sessions and
re-derivable from the stored seed alone."""
from __future__ import annotations

import random
from functools import lru_cache

from django.db.models import Count, Max, Sum

from .models import Case, Membership


def sequence_from_seed(case_ids: list[int], seed: int) -> list[int]:
    """The reader's order: the study's case ids, sorted, then shuffled by a generator seeded with ``seed``."""
    order = sorted(case_ids)
    random.Random(seed).shuffle(order)
    return order


def reader_sequence(membership: Membership) -> list[int]:
    """Case ids in the order this reader sees them.

    Every vote and every ``next`` needs the order, so it is kept per process, keyed by a fingerprint of the study's
    cases (count, largest and summed id: any case added or removed changes it) and the reader's seed. The
    fingerprint is one aggregate row instead of the full id list.
    """
    fingerprint = Case.objects.filter(study_id=membership.study_id).aggregate(n=Count("pk"), top=Max("pk"),
                                                                                total=Sum("pk"))
    return list(_sequence(membership.study_id, fingerprint["n"], fingerprint["top"], fingerprint["total"],
                          membership.order_seed))


@lru_cache(maxsize=1024)
def _sequence(study_id: int, count: int, top: int | None, total: int | None, seed: int) -> tuple[int, ...]:
    case_ids = list(Case.objects.filter(study_id=study_id).values_list("pk", flat=True))
    return tuple(sequence_from_seed(case_ids, seed))
