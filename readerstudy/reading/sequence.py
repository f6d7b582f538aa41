"""Deriving a reader's sequence from their seed: pure functions, no database, so the stored order can be checked.

* No blocks: the study's case ids, sorted, shuffled by ``random.Random(seed)`` (``sequence_from_seed``,
  the plain protocol's order, unchanged).
* Blocks of k: the cases are split into ``ceil(n / k)`` blocks of near-equal size (at most k). Cases are shuffled
  within their (source, finding) cell, the cells are laid end to end, source by source, and dealt round-robin into the
  blocks from a random starting block. Every block therefore gets each source, and each (source, finding) cell, in
  its fair share rounded down or up; findings follow as closely as the sources allow. Each block is then shuffled.
* Repeats: ``round(n * percent / 100)`` cases drawn at random, each shown again at a random place at least
  ``repeat_gap(n)`` images after its first showing (or last, when the study is too short for that).
* Practice: ``count`` images drawn from the practice pool, in random order, before everything else.
* Pairs: cases made from one origin image (a matched Pix2Pix / Pix2Pix-N pair, or an image reused across cells) are
  kept at least ``pair_gap(n)`` images apart: a later case too close to its partner swaps places with the nearest
  unpaired case far enough from it (of the same block; across blocks, of the same source and finding). A
  deterministic repair of the derived order: a study without such cases keeps exactly the order it had.
* Staircase tracks (adaptive exposure): each real image is dealt to one generator's staircase by a shuffle of the
  real images, in quotas proportional to the generators' image counts, so every staircase holds the study's share of
  real images and a real image's track has nothing to do with its position. Within a generator its images (fakes
  and the real images dealt to it) are dealt to several interleaved *lanes* (``staircase_lanes``), each a staircase
  of its own, so that a change of exposure cannot be tied to one answer (docs/protocol.md §4).

Each part uses its own generator seeded from the reader's seed and a label, so turning one setting on does not
change what another derives.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal


def sequence_from_seed(case_ids: list[int], seed: int) -> list[int]:
    """The plain protocol's order: the study's case ids, sorted, then shuffled by a generator seeded with ``seed``."""
    order = sorted(case_ids)
    random.Random(seed).shuffle(order)
    return order


@dataclass(frozen=True)
class CaseKey:
    """What the derivation needs to know about a case."""

    pk: int
    source_id: int
    finding_id: int
    origin: str = ""  # the origin image of a generated (or reused) case; cases sharing one are kept apart


@dataclass(frozen=True)
class StudySlotSpec:
    case_id: int
    is_repeat: bool = False
    block: int | None = None


def _rng(seed: int, label: str) -> random.Random:
    return random.Random(f"{seed}:{label}")


def block_sizes(n: int, block_size: int) -> list[int]:
    """``n`` images in ``ceil(n / k)`` blocks whose sizes differ by at most one (none larger than k)."""
    if n == 0 or block_size <= 0:
        return []
    blocks = math.ceil(n / block_size)
    base, extra = divmod(n, blocks)
    return [base + 1 if index < extra else base for index in range(blocks)]


def blocked_order(cases: list[CaseKey], seed: int, block_size: int) -> list[StudySlotSpec]:
    """The balanced order (see the module docstring), each slot labelled with its 1-based block."""
    rng = _rng(seed, "blocks")
    sizes = block_sizes(len(cases), block_size)
    if not sizes:
        return []
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for case in sorted(cases, key=lambda c: c.pk):
        cells[(case.source_id, case.finding_id)].append(case.pk)
    laid_out: list[int] = []
    for cell in sorted(cells):
        members = cells[cell]
        rng.shuffle(members)
        laid_out.extend(members)
    # Deal round-robin, skipping blocks that are full: with sizes differing by at most one, the blocks that get the
    # extra image are the first ones dealt to, so dealing stays a plain cycle.
    count = len(sizes)
    start = rng.randrange(count)
    order_of_blocks = [(start + index) % count for index in range(count)]
    capacity = {block: sizes[rank] for rank, block in enumerate(order_of_blocks)}
    blocks: list[list[int]] = [[] for _ in range(count)]
    turn = 0
    for case_id in laid_out:
        while len(blocks[order_of_blocks[turn % count]]) >= capacity[order_of_blocks[turn % count]]:
            turn += 1
        blocks[order_of_blocks[turn % count]].append(case_id)
        turn += 1
    slots: list[StudySlotSpec] = []
    for number, members in enumerate(blocks, start=1):
        rng.shuffle(members)
        slots.extend(StudySlotSpec(case_id=case_id, block=number) for case_id in members)
    return slots


def repeat_count(n: int, percent: Decimal | float) -> int:
    return int((Decimal(n) * Decimal(str(percent)) / 100).to_integral_value(rounding="ROUND_HALF_UP"))


def repeat_gap(n: int) -> int:
    """How many images at least lie between a case and its repeat: 10, fewer in a short study."""
    return max(1, min(10, n // 4))


def with_repeats(main: list[StudySlotSpec], seed: int, percent: Decimal | float) -> list[StudySlotSpec]:
    """Insert the repeats into the main order. A repeat takes the block of the image it precedes (or the last)."""
    n = len(main)
    wanted = repeat_count(n, percent)
    if wanted == 0:
        return list(main)
    rng = _rng(seed, "repeats")
    chosen = sorted(rng.sample(range(n), wanted))
    before: dict[int, list[int]] = defaultdict(list)  # main index -> repeated main indices shown just before it
    gap = repeat_gap(n)
    for index in chosen:
        earliest = min(index + gap, n)
        before[rng.randint(earliest, n)].append(index)
    slots: list[StudySlotSpec] = []
    for index in range(n + 1):
        for repeated in before.get(index, []):
            block = main[index].block if index < n else main[-1].block
            slots.append(StudySlotSpec(case_id=main[repeated].case_id, is_repeat=True, block=block))
        if index < n:
            slots.append(main[index])
    return slots


def pair_gap(n: int) -> int:
    """How many images at least lie between two cases of one origin image: 10, fewer in a short study."""
    return repeat_gap(n)


def keep_pairs_apart(main: list[StudySlotSpec], cases: list[CaseKey]) -> list[StudySlotSpec]:
    """Move the later case of each origin-sharing pair at least ``pair_gap`` places after the earlier one."""
    by_origin: dict[str, list[int]] = defaultdict(list)
    for case in cases:
        if case.origin:
            by_origin[case.origin].append(case.pk)
    partners = {pk: set(group) - {pk} for group in by_origin.values() if len(group) > 1 for pk in group}
    if not partners:
        return main
    cell = {case.pk: (case.source_id, case.finding_id) for case in cases}
    slots = list(main)
    gap = pair_gap(len(slots))
    position = {slot.case_id: index for index, slot in enumerate(slots)}

    def clear(case_id: int, at: int) -> bool:
        return all(abs(position[other] - at) >= gap for other in partners.get(case_id, ()) if other in position)

    for index in range(len(slots)):
        case_id = slots[index].case_id
        if clear(case_id, index) or any(position[other] > index for other in partners[case_id] if other in position):
            continue  # fine where it is, or it is the earlier of its pair (the later one moves)
        nearest_first = sorted(range(len(slots)), key=lambda place: (abs(place - index), place < index))
        for target in nearest_first[1:]:
            other = slots[target]
            same_place = other.block == slots[index].block or cell[other.case_id] == cell[case_id]
            if not same_place or other.case_id in partners:
                continue
            position[case_id], position[other.case_id] = target, index
            if clear(case_id, target) and clear(other.case_id, index):
                slots[index], slots[target] = (StudySlotSpec(other.case_id, other.is_repeat, slots[index].block),
                                               StudySlotSpec(case_id, slots[index].is_repeat, other.block))
                break
            position[case_id], position[other.case_id] = index, target
    return slots


def study_order(cases: list[CaseKey], seed: int, block_size: int = 0,
                repeat_percent: Decimal | float = 0) -> list[StudySlotSpec]:
    """Every study slot of a reader, first showings and repeats, in reading order."""
    if block_size > 0:
        main = blocked_order(cases, seed, block_size)
    else:
        main = [StudySlotSpec(case_id=pk) for pk in sequence_from_seed([case.pk for case in cases], seed)]
    return with_repeats(keep_pairs_apart(main, cases), seed, repeat_percent)


def extension_order(case_ids: list[int], seed: int, segment: int) -> list[int]:
    """Cases added after a reader's order was frozen, appended in an order of their own (segment 1, 2, ...)."""
    order = sorted(case_ids)
    _rng(seed, f"segment-{segment}").shuffle(order)
    return order


def practice_order(practice_ids: list[int], seed: int, count: int) -> list[int]:
    """``count`` practice images drawn from the pool, in random order."""
    pool = sorted(practice_ids)
    return _rng(seed, "practice").sample(pool, min(count, len(pool)))


def real_image_tracks(real_ids: list[int], images_per_generator: dict[int, int], seed: int) -> dict[int, int]:
    """Real case id -> the generator whose staircase it rides, dealt at random in quotas proportional to each
    generator's number of images (largest remainders for the rounding), so that within every staircase the share of
    real images is the study's. Secret as long as the seed is: it is never derived from the position."""
    total = sum(images_per_generator.values())
    if not real_ids or not total:
        return {}
    generators = sorted(images_per_generator)
    exact = {g: len(real_ids) * images_per_generator[g] / total for g in generators}
    quotas = {g: int(exact[g]) for g in generators}
    by_remainder = sorted(generators, key=lambda g: (exact[g] - quotas[g], -g), reverse=True)
    for g in by_remainder[:len(real_ids) - sum(quotas.values())]:
        quotas[g] += 1
    order = sorted(real_ids)
    _rng(seed, "tracks").shuffle(order)
    tracks, start = {}, 0
    for g in generators:
        tracks.update(dict.fromkeys(order[start:start + quotas[g]], g))
        start += quotas[g]
    return tracks


MAX_STAIRCASE_LANES = 24  # per reader, over all generators
TRIALS_PER_LANE = 40  # a lane needs about this many trials to approach its threshold and reverse enough


def lanes_per_generator(images: int, generators: int) -> int:
    """How many interleaved staircases each generator gets: as many as the study's size feeds with about
    ``TRIALS_PER_LANE`` trials each, at most ``MAX_STAIRCASE_LANES`` in all, at least one."""
    if not generators:
        return 1
    lanes = min(MAX_STAIRCASE_LANES, images // TRIALS_PER_LANE)
    return max(1, lanes // generators)


def staircase_lanes(fake_sources: dict[int, int], real_ids: list[int], seed: int) -> dict[int, tuple[int, int]]:
    """Case id -> (generator, lane): the staircase its image rides for this reader. Real images are dealt to the
    generators as ``real_image_tracks`` does; each generator's real images and its fakes are then dealt, each in a
    secret shuffled order, round-robin to its lanes, so every lane holds the study's share of real images (to one
    image) and nothing a reader sees (position, exposure) tells which lane an image rides."""
    per_generator: dict[int, list[int]] = defaultdict(list)
    for case_id, generator in fake_sources.items():
        per_generator[generator].append(case_id)
    reals_of: dict[int, list[int]] = defaultdict(list)
    for case_id, generator in real_image_tracks(real_ids, {g: len(ids) for g, ids in per_generator.items()},
                                                seed).items():
        reals_of[generator].append(case_id)
    lanes = lanes_per_generator(len(fake_sources) + len(real_ids), len(per_generator))
    dealt: dict[int, tuple[int, int]] = {}
    for generator in sorted(per_generator):
        reals, fakes = sorted(reals_of[generator]), sorted(per_generator[generator])
        rng = _rng(seed, f"lanes:{generator}")
        rng.shuffle(reals)
        rng.shuffle(fakes)
        dealt.update((case_id, (generator, index % lanes)) for index, case_id in enumerate(reals))
        dealt.update((case_id, (generator, (len(reals) + index) % lanes)) for index, case_id in enumerate(fakes))
    return dealt
