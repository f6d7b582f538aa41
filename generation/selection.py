"""Choosing the source image of every cell of the verification set (pure: no images are read here).

A cell is one finding x one source. Table 1 compares generators, so nothing but the generator may differ between
columns (docs/generation.md gives, per rule, why and the figures on the real metadata):

* **Pix2Pix and Pix2Pix-N** draw their origins as *matched pairs*: two box images of the finding with the same view
  (PA/AP), the same label count (one finding or several) and box areas within ``area_tolerance`` of each other
  (larger <= (1 + tolerance) x smaller), both unseen by both generators or both seen by both; a seeded coin gives each
  image of a pair to one generator. Unseen pairs first, then, only as far as needed, seen pairs: the two always have
  as many seen origins. An image one generator trained on and the other did not is used by neither. ``matched``
  pairing gives both generators the *same* origin boxes instead (a paired comparison).
* **Real** images are labelled with the finding, trained on by no generator, and drawn to the Pix2Pix column's view x
  label-count mix (the label mix where the data allow: a shortfall is filled with single-label images of the view and
  stated in the notes); box-free images first, with untrained box images kept back for Real when those run short.
* **StarGAN**'s origins are healthy images it did not train on, drawn to the Real column's view mix.
* **No patient under two sources**, and each source image in one cell only (matched pairs excepted), so a reader never
  sees a real image and a generated copy of it, nor two sources' images of one patient.

A box lying mostly (over half its area) in the margin the final crop cuts away is never an origin. Where the data
cannot meet a rule, every finding's shortfall is collected and raised together in one :class:`GenerationError`
naming the finding, the rule and by how much; nothing is relaxed silently. With ``allow_reuse`` an image (and its
patient) may serve in a second cell of another source and is marked ``reused``.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict, deque
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
DEFAULT_AREA_TOLERANCE = 0.25
"""Two origins of a Pix2Pix pair have box areas within 25 % of each other (larger <= 1.25 x smaller)."""
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
    patient: str = ""  # Data_Entry's Patient ID of the origin image
    box_area: float | None = None  # the kept box's share of the origin image's area (Pix2Pix kinds)

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
    patients: Mapping[str, str] = field(default_factory=dict)  # image -> Patient ID


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
                          allow_reuse: bool = False, pairing: str = "disjoint",
                          area_tolerance: float = DEFAULT_AREA_TOLERANCE) -> list[PlannedImage]:
    """The findings x 4 sources x ``per_cell`` plan (see the module docstring for the rules)."""
    return plan_with_notes(inputs, findings, per_cell, seed, allow_reuse, pairing, area_tolerance)[0]


def plan_with_notes(inputs: SelectionInputs, findings: Sequence[str], per_cell: int, seed: int,
                    allow_reuse: bool = False, pairing: str = "disjoint",
                    area_tolerance: float = DEFAULT_AREA_TOLERANCE) -> tuple[list[PlannedImage], list[dict]]:
    """The plan and its notes: where a soft constraint (the Real column's label mix) was met only in part.

    A hard constraint the data cannot meet (a cell's count, matched pairs, the Real column's view mix) is collected
    for every finding and raised together in one :class:`GenerationError`, each line naming the finding, the
    constraint and the shortfall; nothing is relaxed silently.
    """
    if area_tolerance < 0:
        raise GenerationError(f"--area-tolerance must be 0 or more, got {area_tolerance}")
    if per_cell < 1:
        raise GenerationError(f"--per-cell must be at least 1, got {per_cell}")
    if pairing not in PAIRINGS:
        raise GenerationError(f"unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}")
    missing = {"pix2pix", "pix2pix-n", "stargan"} - set(inputs.train_images)
    if missing:
        raise GenerationError(f"no training split for: {', '.join(sorted(missing))}")
    planner = _Planner(inputs, per_cell, seed, allow_reuse, pairing, area_tolerance)
    plan: list[PlannedImage] = []
    for finding in findings:
        plan += planner.finding(finding)
    for finding in findings:
        plan += planner.stargan(finding)
    if planner.shortfalls:
        if len(planner.shortfalls) == 1:
            raise GenerationError(planner.shortfalls[0])
        raise GenerationError("the plan cannot meet its constraints with these data:\n  "
                              + "\n  ".join(planner.shortfalls))
    return plan, planner.notes


class _Planner:
    def __init__(self, inputs: SelectionInputs, per_cell: int, seed: int, allow_reuse: bool, pairing: str,
                 area_tolerance: float = DEFAULT_AREA_TOLERANCE) -> None:
        self.inputs, self.per_cell, self.seed, self.pairing = inputs, per_cell, seed, pairing
        self.area_tolerance = area_tolerance
        self.shortfalls: list[str] = []  # hard constraints the data cannot meet, one line per finding and source
        self.notes: list[dict] = []  # soft constraints met only in part (the Real column's label mix)
        self.patient_owner: dict[str, str] = {}  # patient -> the one source its images serve under
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

    def _patient(self, image: str) -> str:
        return self.inputs.patients.get(image, "")

    def _patient_free(self, image: str, sources: Sequence[str]) -> bool:
        """The image's patient serves under none of the sources but ``sources`` (an image without a known patient
        is its own patient). ``--allow-reuse`` lets an image serve under two sources, so it lifts this rule too."""
        owner = self.patient_owner.get(self._patient(image) or image)
        return self.ledger.allow_reuse or owner is None or owner in sources

    def _claim(self, image: str, source: str) -> None:
        self.patient_owner.setdefault(self._patient(image) or image, source)

    def _area(self, box: BoxLike) -> float:
        width, height = self.inputs.frames.get(box.image, NIH_FRAME)
        return box.w * box.h / (width * height)

    def _multi(self, image: str) -> bool:
        return len([label for label in self.inputs.labels.get(image, ()) if label != HEALTHY]) > 1

    def _usable(self, box: BoxLike) -> bool:
        frame = self.inputs.frames.get(box.image, NIH_FRAME)
        return box_fraction_kept((box.x, box.y, box.w, box.h), frame, self.inputs.crop_margin) > 0.5

    # --- Pix2Pix and Pix2Pix-N, then Real, of one finding -------------------------------------------------------------

    def finding(self, finding: str) -> list[PlannedImage]:
        inputs = self.inputs
        all_boxes = sorted((b for b in inputs.boxes if b.finding == finding), key=lambda b: (b.image, b.x, b.y))
        boxes = [b for b in all_boxes if self._usable(b)]
        box_of: dict[str, BoxLike] = {}
        rng = self._rng(finding, "boxes")
        for box in _shuffled(boxes, rng):  # one origin box per image, a seeded choice among its boxes
            box_of.setdefault(box.image, box)
        reserved = self._reserve_for_real(finding, box_of)
        generated = self._pix2pix_pair(finding, box_of, len(all_boxes) - len(boxes), reserved)
        reals = self._real(finding, [p for p in generated if p.source == PIX2PIX], reserved)
        for entry in generated:  # images shared with Real under --allow-reuse are recorded once Real has them
            if entry.origin_image in reserved:
                self.ledger.record(entry.origin_image, finding, entry.source)
        return reals + generated

    def _reserve_for_real(self, finding: str, box_of: Mapping[str, BoxLike]) -> list[str]:
        """Box images no generator trained on, kept for Real as far as box-free images cannot fill its cell (the
        generators may fall back to their training boxes, Real may not)."""
        untrained = [image for image, labels in sorted(self.inputs.labels.items())
                     if finding in labels and image not in self.trained_any and self.ledger.is_fresh(image)
                     and self._patient_free(image, (REAL,))]
        box_free = sum(1 for image in untrained if image not in self.boxed_images)
        shortfall = max(0, self.per_cell - box_free)
        boxed = _shuffled([image for image in untrained if image in box_of], self._rng(finding, "reserve"))
        return boxed[:shortfall]

    def _real(self, finding: str, pix2pix: Sequence[PlannedImage], reserved: Sequence[str]) -> list[PlannedImage]:
        """Real images of ``finding`` no generator trained on, drawn to the Pix2Pix column's view x label-count mix.

        The view mix is a constraint (a shortfall is an error naming the view); the label mix is met where the data
        allow: a multi-label slot the data cannot fill takes a single-label image of the same view, recorded in
        :attr:`notes`. Box-free images come first (a box image is the generators' scarce supply).
        """
        inputs, per_cell = self.inputs, self.per_cell
        labelled = sorted(image for image, labels in inputs.labels.items() if finding in labels)
        untrained = [image for image in labelled if image not in self.trained_any]
        rng = self._rng(finding, REAL)
        candidates = _shuffled([i for i in untrained if i not in self.boxed_images], rng) + list(reserved) + _shuffled(
            [i for i in untrained if i in self.boxed_images and i not in reserved], rng)
        fresh = [i for i in candidates if self.ledger.is_fresh(i) and self._patient_free(i, (REAL,))]
        candidates = fresh + ([i for i in candidates if self.ledger.reusable(i, (REAL,))]
                              if self.ledger.allow_reuse else [])
        if len(pix2pix) == per_cell:
            wanted = Counter((p.view, p.multi_label) for p in pix2pix)
        else:  # the generators already fell short (reported): any view, single-label first
            wanted = Counter({("", False): per_cell})
        strata = sorted(wanted.items(), key=lambda item: item[0][1], reverse=True)  # multi-label slots first
        order: list[str] = []
        taken: set[str] = set()
        for (view, multi), count in strata:
            def fits(image: str, want_multi: bool, view: str = view) -> bool:
                return image not in taken and (not view or self._view(image) == view) and (
                    self._multi(image) == want_multi)
            same = [i for i in candidates if fits(i, multi)][:count]
            if len(same) < count and multi:
                single = [i for i in candidates if fits(i, False) and i not in same][:count - len(same)]
                self.notes.append({"finding": finding, "source": REAL, "constraint": f"label mix ({view or 'any'})",
                                   "needed": count, "found": len(same), "filled_with": f"{len(single)} single-label"})
                same += single
            if len(same) < count:
                self.shortfalls.append(
                    f"{finding} / {REAL}: {count} {'multi' if multi else 'single'}-label {view or 'any-view'} "
                    f"images needed to match the Pix2Pix column, found {len(same)} (labelled {finding} in "
                    f"Data_Entry: {len(labelled)}, no generator trained on: {len(untrained)}): short by "
                    f"{count - len(same)}")
            taken.update(same)
            order += same
        try:
            picked = self.ledger.take(REAL, finding, order + [i for i in candidates if i not in taken],
                                      per_cell, lambda image: image, (
                f"need {per_cell} real images labelled {finding} that no generator trained on, found {{found}} "
                f"unused from patients no other source uses ({len(labelled)} labelled {finding} in Data_Entry, "
                f"{len(labelled) - len(untrained)} of them in a generator's training split)"))
        except GenerationError as error:
            if not any(line.startswith(f"{finding} / {REAL}:") for line in self.shortfalls):
                self.shortfalls.append(str(error).removeprefix("not enough images for "))
            picked = []
        for image, _ in picked:
            self._claim(image, REAL)
        reals = [PlannedImage(finding, REAL, image, None, "held-out", reused, self._view(image), self._multi(image),
                              self._patient(image)) for image, reused in picked]
        self.real_pa[finding] = sum(1 for p in reals if p.view == "PA") / len(reals) if reals else 0.5
        return reals

    def _pix2pix_pair(self, finding: str, box_of: Mapping[str, BoxLike], cropped_out: int,
                      reserved: Sequence[str] = ()) -> list[PlannedImage]:
        """Pix2Pix's and Pix2Pix-N's origins of ``finding``, matched pair by pair.

        Each pair is two box images of the same view and label count whose box areas lie within ``area_tolerance``
        of each other (larger / smaller - 1), both unseen by both generators or both seen by both; the pair's two
        images go one to each generator by a seeded coin, so neither systematically gets the larger box. Unseen
        pairs first, then seen pairs. The two images of a pair, and every image, come from patients no other
        source uses. ``matched`` pairing gives both generators the same images instead.
        """
        train_a, train_b = self.inputs.train_images["pix2pix"], self.inputs.train_images["pix2pix-n"]
        rng = self._rng(finding, "Pix2Pix pair")
        unseen, seen, one_sided = [], [], 0
        for image in _shuffled(sorted(box_of), rng):
            in_a, in_b = image in train_a, image in train_b
            if in_a != in_b:
                one_sided += 1
            else:
                (seen if in_a else unseen).append(image)
        kept = set(reserved)

        def fresh(image: str) -> bool:
            return self.ledger.is_fresh(image) and image not in kept

        tiers = [[i for i in unseen if fresh(i)], [i for i in seen if fresh(i)]]
        if self.ledger.allow_reuse:
            tiers += [[i for i in unseen if self.ledger.reusable(i, (PIX2PIX, PIX2PIX_N))],
                      [i for i in seen if self.ledger.reusable(i, (PIX2PIX, PIX2PIX_N))],
                      [i for i in unseen if i in kept], [i for i in seen if i in kept]]  # shared with Real
        picks: dict[str, list[str]] = {PIX2PIX: [], PIX2PIX_N: []}
        unmatched = patient_clash = 0
        for tier in tiers:
            if self.pairing == "matched":
                for image in tier:
                    if len(picks[PIX2PIX]) < self.per_cell and self._patient_free(image, (PIX2PIX, PIX2PIX_N)):
                        picks[PIX2PIX].append(image)
                        picks[PIX2PIX_N].append(image)
                        self._claim(image, PIX2PIX)
                        self._claim(image, PIX2PIX_N)
                continue
            pairs, left = _area_matched_pairs(tier, box_of, self._view, self._multi, self._area, self._patient,
                                              self.area_tolerance)
            unmatched += left
            for a, b in _shuffled(pairs, rng):
                if len(picks[PIX2PIX]) >= self.per_cell:
                    break
                first, second = (a, b) if rng.random() < 0.5 else (b, a)
                for x, y in ((first, second), (second, first)):
                    if self._patient_free(x, (PIX2PIX,)) and self._patient_free(y, (PIX2PIX_N,)):
                        picks[PIX2PIX].append(x)
                        picks[PIX2PIX_N].append(y)
                        self._claim(x, PIX2PIX)
                        self._claim(y, PIX2PIX_N)
                        break
                else:
                    patient_clash += 1
        if len(picks[PIX2PIX]) < self.per_cell:
            short = self.per_cell - len(picks[PIX2PIX])
            hint = "" if self.ledger.allow_reuse else ONE_CELL_HINT
            if self.pairing == "matched":
                detail = f"{self.per_cell} shared box images needed, {len(picks[PIX2PIX])} found"
            else:
                detail = (f"{self.per_cell} each ({self.pairing} pairing) needs {self.per_cell} matched pairs (same "
                          f"view and label count, box areas within {self.area_tolerance:.0%}), {len(picks[PIX2PIX])} "
                          f"formed")
            self.shortfalls.append(
                f"{finding} / {PIX2PIX} and {PIX2PIX_N} on equal terms: {detail} ({len(tiers[0])} box images unseen "
                f"by both generators, {len(tiers[1])} seen by both; {unmatched} left without a match, {patient_clash} "
                f"pairs refused as a patient serves another source; {one_sided} seen by only one, {len(kept)} kept "
                f"for Real, {cropped_out} boxes "
                f"mostly in the crop margin): short by {short} (lower --per-cell, widen --area-tolerance"
                f"{', or try --pairing matched' if self.pairing != 'matched' else ''}{hint})")
        plan = []
        for source, kind in ((PIX2PIX, "pix2pix"), (PIX2PIX_N, "pix2pix-n")):
            train = self.inputs.train_images[kind]
            for image in picks[source]:
                reused = not self.ledger.is_fresh(image) or image in kept
                box = box_of[image]
                plan.append(PlannedImage(finding, source, image, (box.x, box.y, box.w, box.h),
                                         "train" if image in train else "test", reused, self._view(image),
                                         self._multi(image), self._patient(image), self._area(box)))
        for entry in plan:
            if entry.origin_image not in kept:
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
            usable = ((lambda h: self.ledger.reusable(h, (STARGAN,))) if reuse else (
                lambda h: self.ledger.is_fresh(h) and self._patient_free(h, (STARGAN,))))
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
            self.shortfalls.append(
                f"{finding} / {STARGAN}: need {self.per_cell} healthy ('No Finding') images, found {fresh} unused "
                f"from patients no other source uses, of {len(set(self.inputs.healthy))} healthy images: short by "
                f"{self.per_cell - len(chosen)}{hint}")
        for image in chosen:
            self._claim(image, STARGAN)
        plan = [PlannedImage(finding, STARGAN, image, None, "train" if image in stargan_train else "held-out", reused,
                             self._view(image), False, self._patient(image))
                for image, reused in zip(chosen, reused_flags, strict=True)]
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


def _area_matched_pairs(images: Sequence[str], box_of: Mapping[str, BoxLike], view_of: Callable[[str], str],
                        multi_of: Callable[[str], bool], area_of: Callable[[BoxLike], float],
                        patient_of: Callable[[str], str], tolerance: float) -> tuple[list[tuple[str, str]], int]:
    """(pairs, images left unmatched): within each (view, label count) group, images in box-area order are paired
    with the nearest later one whose area is at most (1 + tolerance) times theirs and whose patient differs."""
    groups: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for image in images:
        groups[(view_of(image), multi_of(image))].append(image)
    pairs: list[tuple[str, str]] = []
    left = 0
    for key in sorted(groups):
        pending = sorted(groups[key], key=lambda image: (area_of(box_of[image]), image))
        while pending:
            first = pending.pop(0)
            area = area_of(box_of[first])
            match = None
            for position, other in enumerate(pending):
                if area_of(box_of[other]) > area * (1 + tolerance):
                    break
                if (patient_of(other) or other) != (patient_of(first) or first):
                    match = position
                    break
            if match is None:
                left += 1
            else:
                pairs.append((first, pending.pop(match)))
    return pairs, left


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
