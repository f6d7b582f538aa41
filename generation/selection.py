"""Choosing the source image of every cell of the verification set (pure: no images are read here).

A cell is one finding x one source. Table 1 compares generators, so Pix2Pix and Pix2Pix-N are judged on equal terms:
in every finding both draw their origins from the same pools with equal shares, first the boxes that *neither*
generator trained on (as many as the pool allows), then, only when the cell cannot be filled otherwise, the same
number of training boxes for each. An image that only one of the two saw is used by neither (it cannot be on equal
terms). Two pairings:

* ``disjoint`` (default, as the paper implies): distinct origins per generator;
* ``matched``: Pix2Pix and Pix2Pix-N get the *same* origin boxes (a paired comparison).

Real images are images labelled with the finding that no generator trained on, single-label ones first. Every other
source's origins are drawn so that its PA/AP view mix comes close to the Real column's. A box lying mostly (over half
its area) in the margin the final crop cuts away is never an origin.

Each source image is used in one cell only (matched pairs excepted), so a reader never sees a real image and a
generated copy of it. Where the data cannot satisfy all this, :class:`GenerationError` names the cell and the
shortfall; with ``allow_reuse`` an image may serve in a second cell of another source and is marked ``reused``.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import GenerationError

REAL = "Real"
PIX2PIX = "Pix2Pix"
PIX2PIX_N = "Pix2Pix-N"
STARGAN = "StarGAN"
SOURCE_FOR_KIND = {"pix2pix": PIX2PIX, "pix2pix-n": PIX2PIX_N, "stargan": STARGAN}
SOURCES = (REAL, STARGAN, PIX2PIX, PIX2PIX_N)
PAIRINGS = ("disjoint", "matched")
NIH_FRAME = (1024, 1024)  # NIH's boxes are given in the pixels of its 1024x1024 PNGs
HEALTHY = "No Finding"
ONE_CELL_HINT = " (a source image serves in one cell only; --allow-reuse relaxes that)"


class BoxLike(Protocol):
    image: str
    finding: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class PlannedImage:
    finding: str
    source: str
    origin_image: str
    box: tuple[float, float, float, float] | None  # the kept box in the original image's pixels (Pix2Pix kinds)
    split: str  # "test"/"train" of that generator for Pix2Pix kinds; "held-out"/"train" for Real and StarGAN inputs
    reused: bool = False
    view: str = ""  # PA / AP from Data_Entry
    multi_label: bool = False  # the origin image carries more than one label in Data_Entry

    @property
    def seen(self) -> bool:
        """Whether this source's generator trained on the origin image."""
        return self.split == "train"


@dataclass(frozen=True)
class SelectionInputs:
    boxes: Sequence[BoxLike]
    labels: Mapping[str, tuple[str, ...]]
    healthy: Sequence[str]
    train_images: Mapping[str, frozenset[str]]  # generator kind -> images in its checkpoint's split["train"]
    views: Mapping[str, str] = field(default_factory=dict)
    frames: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # image -> (w, h) its box is given in
    crop_margin: float = 0.0  # the fraction the final pipeline cuts from each side


def box_fraction_kept(box: tuple[float, float, float, float], frame: tuple[int, int], crop_margin: float) -> float:
    """The share of the box's area inside the region the final crop keeps (1.0 with no crop)."""
    x, y, w, h = box
    width, height = frame
    left, top = crop_margin * width, crop_margin * height
    right, bottom = width - left, height - top
    inside_w = max(0.0, min(x + w, right) - max(x, left))
    inside_h = max(0.0, min(y + h, bottom) - max(y, top))
    return inside_w * inside_h / (w * h) if w > 0 and h > 0 else 0.0


def plan_verification_set(inputs: SelectionInputs, findings: Sequence[str], per_cell: int, seed: int,
                          allow_reuse: bool = False, pairing: str = "disjoint") -> list[PlannedImage]:
    """The findings x 4 sources x ``per_cell`` plan (see the module docstring for the rules)."""
    if per_cell < 1:
        raise GenerationError(f"--per-cell must be at least 1, got {per_cell}")
    if pairing not in PAIRINGS:
        raise GenerationError(f"unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}")
    missing = {"pix2pix", "pix2pix-n", "stargan"} - set(inputs.train_images)
    if missing:
        raise GenerationError(f"no training split for: {', '.join(sorted(missing))}")
    planner = _Planner(inputs, per_cell, seed, allow_reuse, pairing)
    plan: list[PlannedImage] = []
    for finding in findings:
        plan += planner.finding(finding)
    for finding in findings:
        plan += planner.stargan(finding)
    return plan


class _Planner:
    def __init__(self, inputs: SelectionInputs, per_cell: int, seed: int, allow_reuse: bool, pairing: str) -> None:
        self.inputs, self.per_cell, self.seed, self.pairing = inputs, per_cell, seed, pairing
        self.ledger = _Ledger(allow_reuse)
        self.trained_any = frozenset().union(*inputs.train_images.values())
        self.boxed_images = {box.image for box in inputs.boxes}
        self.real_pa: dict[str, float] = {}
        self._healthy: list[tuple[dict[str, list], dict[str, deque]]] | None = None

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _rng(self, finding: str, source: str) -> random.Random:
        return random.Random(f"{self.seed}:{finding}:{source}")

    def _view(self, image: str) -> str:
        return self.inputs.views.get(image, "")

    def _multi(self, image: str) -> bool:
        return len([label for label in self.inputs.labels.get(image, ()) if label != HEALTHY]) > 1

    def _usable(self, box: BoxLike) -> bool:
        frame = self.inputs.frames.get(box.image, NIH_FRAME)
        return box_fraction_kept((box.x, box.y, box.w, box.h), frame, self.inputs.crop_margin) > 0.5

    # --- Real, Pix2Pix and Pix2Pix-N of one finding ------------------------------------------------------------------

    def finding(self, finding: str) -> list[PlannedImage]:
        inputs, per_cell = self.inputs, self.per_cell
        all_boxes = sorted((b for b in inputs.boxes if b.finding == finding), key=lambda b: (b.image, b.x, b.y))
        boxes = [b for b in all_boxes if self._usable(b)]
        box_of: dict[str, BoxLike] = {}
        rng = self._rng(finding, "boxes")
        for box in _shuffled(boxes, rng):  # one origin box per image, a seeded choice among its boxes
            box_of.setdefault(box.image, box)
        labelled = sorted(image for image, labels in inputs.labels.items() if finding in labels)
        untrained = [image for image in labelled if image not in self.trained_any]
        rng = self._rng(finding, REAL)
        unboxed = [image for image in untrained if image not in self.boxed_images]
        unboxed = (_shuffled([i for i in unboxed if not self._multi(i)], rng)
                   + _shuffled([i for i in unboxed if self._multi(i)], rng))
        boxed = [image for image in untrained if image in box_of]
        boxed = _shuffled([i for i in boxed if not self._multi(i)], rng) + _shuffled(
            [i for i in boxed if self._multi(i)], rng)
        # Real must be untrained; when unboxed real images run short, untrained box images are kept for Real before
        # the generators choose (the generators may fall back to training boxes, Real may not).
        shortfall = max(0, per_cell - sum(1 for image in unboxed if self.ledger.is_fresh(image)))
        reserved = [image for image in boxed if self.ledger.is_fresh(image)][:shortfall]
        real_candidates = unboxed + reserved + [image for image in boxed if image not in reserved]
        picked = self.ledger.take(REAL, finding, real_candidates, per_cell, lambda image: image, (
            f"need {per_cell} real images labelled {finding} that no generator trained on, found {{found}} unused "
            f"({len(labelled)} labelled {finding} in Data_Entry, {len(labelled) - len(untrained)} of them in a "
            f"generator's training split)"))
        reals = [PlannedImage(finding, REAL, image, None, "held-out", reused, self._view(image), self._multi(image))
                 for image, reused in picked]
        self.real_pa[finding] = sum(1 for p in reals if p.view == "PA") / len(reals)
        return reals + self._pix2pix_pair(finding, box_of, set(reserved), len(all_boxes) - len(boxes))

    def _pix2pix_pair(self, finding: str, box_of: Mapping[str, BoxLike], reserved: set[str],
                      cropped_out: int) -> list[PlannedImage]:
        train_a, train_b = self.inputs.train_images["pix2pix"], self.inputs.train_images["pix2pix-n"]
        rng = self._rng(finding, "Pix2Pix pair")
        unseen, seen, one_sided = [], [], 0
        for image in _shuffled(sorted(box_of), rng):  # Real took its reserved images first: they are not fresh
            in_a, in_b = image in train_a, image in train_b
            if in_a != in_b:
                one_sided += 1
            else:
                (seen if in_a else unseen).append(image)
        fresh = self.ledger.is_fresh
        tiers = [[i for i in unseen if fresh(i)], [i for i in seen if fresh(i)]]
        if self.ledger.allow_reuse:
            tiers += [[i for i in unseen if self.ledger.reusable(i, (PIX2PIX, PIX2PIX_N))],
                      [i for i in seen if self.ledger.reusable(i, (PIX2PIX, PIX2PIX_N))]]
        share = 1 if self.pairing == "matched" else 2
        target_pa = self.real_pa.get(finding, 0.5)
        picks: dict[str, list[str]] = {PIX2PIX: [], PIX2PIX_N: []}
        for tier in tiers:
            need = self.per_cell - len(picks[PIX2PIX])
            take = min(need, len(tier) // share)
            pool = list(tier)
            for _ in range(take):
                for source in (PIX2PIX, PIX2PIX_N) if share == 2 else (PIX2PIX,):
                    image = _take_view_balanced(pool, picks[source], self._view, target_pa)
                    picks[source].append(image)
                if share == 1:
                    picks[PIX2PIX_N].append(picks[PIX2PIX][-1])
        if len(picks[PIX2PIX]) < self.per_cell:
            usable = sum(len(t) for t in tiers[:2])
            needed = self.per_cell * share
            hint = "" if self.ledger.allow_reuse else ONE_CELL_HINT
            raise GenerationError(
                f"not enough box images for {finding} / {PIX2PIX} and {PIX2PIX_N} on equal terms: {self.per_cell} "
                f"each ({self.pairing} pairing) needs {needed} distinct box images, {usable} are usable "
                f"({len(tiers[0])} unseen by both generators, {len(tiers[1])} seen by both; {one_sided} seen by only "
                f"one, {len(reserved)} kept for Real, {cropped_out} boxes mostly in the crop margin): short by "
                f"{needed - usable} (lower --per-cell{', or try --pairing matched' if share == 2 else ''}{hint})")
        plan = []
        for source, kind in ((PIX2PIX, "pix2pix"), (PIX2PIX_N, "pix2pix-n")):
            train = self.inputs.train_images[kind]
            for image in picks[source]:
                reused = not self.ledger.is_fresh(image)
                box = box_of[image]
                plan.append(PlannedImage(finding, source, image, (box.x, box.y, box.w, box.h),
                                         "train" if image in train else "test", reused, self._view(image),
                                         self._multi(image)))
        for entry in plan:
            self.ledger.record(entry.origin_image, finding, entry.source)
        return plan

    # --- StarGAN -----------------------------------------------------------------------------------------------------

    def stargan(self, finding: str) -> list[PlannedImage]:
        stargan_train = self.inputs.train_images["stargan"]
        queues = self._healthy_queues()
        chosen: list[str] = []
        reused_flags: list[bool] = []
        target_pa = self.real_pa.get(finding, 0.5)
        modes = (False, True) if self.ledger.allow_reuse else (False,)
        for reuse in modes:
            usable = (lambda h: self.ledger.reusable(h, (STARGAN,))) if reuse else self.ledger.is_fresh
            for static, consumed in queues:
                # fresh images come from the shared queues (which drop images once used); reuse reads the whole tier
                streams = {view: iter(static[view]) if reuse else consumed[view] for view in static}
                while len(chosen) < self.per_cell:
                    image = _next_view_balanced(streams, chosen, self._view, target_pa, usable)
                    if image is None:
                        break
                    chosen.append(image)
                    reused_flags.append(reuse)
        if len(chosen) < self.per_cell:
            fresh = sum(1 for flag in reused_flags if not flag)
            hint = "" if self.ledger.allow_reuse else ONE_CELL_HINT
            raise GenerationError(
                f"not enough images for {finding} / {STARGAN}: need {self.per_cell} healthy ('No Finding') images, "
                f"found {fresh} unused of {len(set(self.inputs.healthy))} healthy images: short by "
                f"{self.per_cell - len(chosen)}{hint}")
        plan = [PlannedImage(finding, STARGAN, image, None, "train" if image in stargan_train else "held-out", reused,
                             self._view(image), False) for image, reused in zip(chosen, reused_flags, strict=True)]
        for entry in plan:
            self.ledger.record(entry.origin_image, finding, STARGAN)
        return plan

    def _healthy_queues(self) -> list[tuple[dict[str, list], dict[str, deque]]]:
        """The healthy images in one seeded order, untrained ones first, split by view (built once: 60k on NIH)."""
        if self._healthy is None:
            healthy = sorted(set(self.inputs.healthy))
            rng = self._rng("all", STARGAN)
            tiers = [_shuffled([h for h in healthy if h not in self.trained_any], rng),
                     _shuffled([h for h in healthy if h in self.trained_any], rng)]
            self._healthy = []
            for tier in tiers:
                by_view: dict[str, list] = {"PA": [], "other": []}
                for image in tier:
                    by_view["PA" if self._view(image) == "PA" else "other"].append(image)
                self._healthy.append((by_view, {view: deque(images) for view, images in by_view.items()}))
        return self._healthy


def _next_view_balanced(streams: dict, taken: list[str], view_of: Callable[[str], str], target_pa: float,
                        usable: Callable[[str], bool]) -> str | None:
    """The next usable image of the view that keeps ``taken``'s PA share nearest ``target_pa`` (else the other view).

    ``streams`` map "PA" / "other" to a deque (consumed: images taken or no longer usable are dropped for good) or an
    iterator over a copy.
    """
    pa_now = sum(1 for image in taken if view_of(image) == "PA")
    want = "PA" if pa_now < round(target_pa * (len(taken) + 1)) else "other"
    for view in (want, "other" if want == "PA" else "PA"):
        stream = streams[view]
        while True:
            if isinstance(stream, deque):
                if not stream:
                    break
                image = stream.popleft()
            else:
                image = next(stream, None)
                if image is None:
                    break
            if usable(image) and image not in taken:
                return image
    return None


def _take_view_balanced(pool: list[str], taken: list[str], view_of: Callable[[str], str], target_pa: float) -> str:
    """Remove and return the first image of ``pool`` whose view keeps ``taken``'s PA share nearest ``target_pa``."""
    pa_now = sum(1 for image in taken if view_of(image) == "PA")
    want_pa = pa_now < round(target_pa * (len(taken) + 1))
    for position, image in enumerate(pool):
        if (view_of(image) == "PA") == want_pa:
            return pool.pop(position)
    return pool.pop(0)


class _Ledger:
    """Which image went to which cell; enforces one cell per image (or, with reuse, one cell per image per source)."""

    def __init__(self, allow_reuse: bool) -> None:
        self.allow_reuse = allow_reuse
        self.cell_of: dict[str, tuple[str, str]] = {}
        self.sources_of: dict[str, set[str]] = {}

    def is_fresh(self, image: str) -> bool:
        return image not in self.cell_of

    def reusable(self, image: str, sources: Sequence[str]) -> bool:
        """Already used, but by none of ``sources`` (reuse never repeats an image within one source)."""
        return not self.is_fresh(image) and not (self.sources_of.get(image, set()) & set(sources))

    def record(self, image: str, finding: str, source: str) -> None:
        self.cell_of.setdefault(image, (finding, source))
        self.sources_of.setdefault(image, set()).add(source)

    def take(self, source: str, finding: str, candidates: Sequence[str], count: int, image_of,
             shortage_message: str) -> list[tuple[str, bool]]:
        """Up to ``count`` distinct candidates, fresh ones first; the message's {found} gets the fresh count."""
        chosen: list[tuple[str, bool]] = []
        chosen_images: set[str] = set()
        for candidate in candidates:
            image = image_of(candidate)
            if len(chosen) < count and image not in chosen_images and self.is_fresh(image):
                chosen.append((candidate, False))
                chosen_images.add(image)
        fresh = len(chosen)
        if len(chosen) < count and self.allow_reuse:
            for candidate in candidates:
                image = image_of(candidate)
                if len(chosen) < count and image not in chosen_images and self.reusable(image, (source,)):
                    chosen.append((candidate, True))
                    chosen_images.add(image)
        if len(chosen) < count:
            hint = "" if self.allow_reuse else ONE_CELL_HINT
            message = shortage_message.format(found=fresh)
            raise GenerationError(f"not enough images for {finding} / {source}: {message}: short by "
                                  f"{count - len(chosen)}{hint}")
        for candidate, _ in chosen:
            self.record(image_of(candidate), finding, source)
        return chosen


def _shuffled(items: list, rng: random.Random) -> list:
    items = list(items)
    rng.shuffle(items)
    return items
