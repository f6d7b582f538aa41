"""Reading: the protocol settings that shape a reading (blocks, practice, repeats, timed exposure, reasons for
"fake"), each reader's frozen sequence, their answers (first showings in ``Vote``; repeats and practice images kept
apart so Table 1 counts each case once), the staircases and the showings of images.

Every protocol setting is off by default, so a study without a protocol row reads exactly like the paper's plain
protocol. The tables keep the names they had in the ``studies`` and ``protocol`` apps (``db_table``).
"""
from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from readerstudy.studies.models import Answer, never_starts_like_a_formula, new_image_token, new_public_id

MIN_EXPOSURE_MS = 50
MAX_EXPOSURE_MS = 60_000
DEFAULT_CUES = ("Rib pattern", "Lung texture", "Borders", "Heart shadow", "Artefacts", "Anatomy")


def practice_image_path(instance: PracticeImage, filename: str) -> str:
    return f"practice/{secrets.token_hex(16)}.png"


class MarksMode(models.TextChoices):
    OFF = "off", "Off: no marks"
    FAKE = "fake", "After a Fake answer: mark what gave the image away"
    FAKE_AND_REAL = "fake_and_real", "After either answer: mark what looked generated"


MARK_IMAGE_SIZE = 224  # marks are in the pixels of the 224 px study image, whatever its size on screen
MAX_MARKS_LIMIT = 10
MARK_RADIUS_PX = 6  # the circle drawn around a mark, in image pixels (the analysis uses the point)


class ExposureMode(models.TextChoices):
    OFF = "off", "Off: the image stays until answered"
    FIXED = "fixed", "Fixed: shown for a set time, then masked"
    ADAPTIVE = "adaptive", "Adaptive: a staircase per reader and source"


class StudyProtocol(models.Model):
    """A study's protocol settings. Those in ``RESULT_SHAPING`` are frozen once the first vote is cast."""

    RESULT_SHAPING = ("block_size", "repeat_percent", "practice_count", "exposure_mode", "exposure_ms",
                      "staircase_down", "staircase_factor", "marks_mode", "max_marks")

    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE, related_name="protocol")
    block_size = models.PositiveIntegerField(
        default=0, help_text="Balance the order in blocks of this many images (0: one plain seeded shuffle).")
    repeat_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0,
        help_text="Share of cases (percent) shown a second time later in the sequence, unannounced.")
    practice_count = models.PositiveSmallIntegerField(
        default=0, help_text="Practice images shown before the study (from the practice pool).")
    practice_feedback = models.BooleanField(
        default=False, help_text="Tell readers after each practice image whether it was real (practice only).")
    exposure_mode = models.CharField(max_length=8, choices=ExposureMode.choices, default=ExposureMode.OFF)
    exposure_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Exposure in ms (fixed mode), or the starting exposure (adaptive mode).")
    staircase_down = models.PositiveSmallIntegerField(
        default=2, help_text="Adaptive mode: correct answers in a row before the exposure is shortened.")
    staircase_factor = models.DecimalField(
        max_digits=4, decimal_places=2, default=1.25,
        help_text="Adaptive mode: the exposure is divided (after a run of correct answers) or multiplied (after an "
                  "error) by this factor.")
    ask_fake_reasons = models.BooleanField(
        default=False, help_text="After a Fake answer, let readers tick the cues that gave the image away.")
    marks_mode = models.CharField(
        max_length=16, choices=MarksMode.choices, default=MarksMode.OFF,
        help_text="Let readers click the places that gave an image away (docs/marks.md).")
    max_marks = models.PositiveSmallIntegerField(default=3, help_text="The most marks a reader may place on one image.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "protocol_studyprotocol"
        constraints = [
            models.CheckConstraint(condition=Q(repeat_percent__gte=0) & Q(repeat_percent__lte=100),
                                   name="protocol_repeat_percent_0_100"),
            models.CheckConstraint(
                condition=Q(exposure_ms__isnull=True) | Q(exposure_ms__gte=MIN_EXPOSURE_MS,
                                                          exposure_ms__lte=MAX_EXPOSURE_MS),
                name="protocol_exposure_50ms_to_1min"),
            models.CheckConstraint(condition=Q(exposure_mode="off") | Q(exposure_ms__isnull=False),
                                   name="protocol_timed_needs_exposure"),
            models.CheckConstraint(condition=Q(staircase_down__gte=1), name="protocol_staircase_down_positive"),
            models.CheckConstraint(condition=Q(staircase_factor__gt=1), name="protocol_staircase_factor_above_1"),
            models.CheckConstraint(condition=Q(marks_mode__in=MarksMode.values), name="protocol_marks_mode_known"),
            models.CheckConstraint(condition=Q(max_marks__gte=1, max_marks__lte=MAX_MARKS_LIMIT),
                                   name="protocol_max_marks_1_to_10"),
        ]

    def __str__(self) -> str:
        return f"protocol of {self.study_id}"

    @property
    def timed(self) -> bool:
        return self.exposure_mode != ExposureMode.OFF

    def asks_marks(self, answer: str) -> bool:
        """Whether a reader may mark the image after this answer."""
        return self.marks_mode == MarksMode.FAKE_AND_REAL or (self.marks_mode == MarksMode.FAKE and answer == "fake")


class FakeCue(models.Model):
    """One cue a reader may tick after calling an image fake; the admin edits the list per study."""

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="fake_cues")
    label = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "protocol_fakecue"
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "label"], name="one_cue_label_per_study")]

    def __str__(self) -> str:
        return self.label


class PracticeImage(models.Model):
    """An image of a study's practice pool: never a study case (the pixel hash guards that), never in Table 1."""

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="practice_images")
    image = models.FileField(upload_to=practice_image_path, max_length=200)
    pixel_sha256 = models.CharField(max_length=64)
    source = models.ForeignKey("studies.Source", on_delete=models.PROTECT, related_name="+")
    finding = models.ForeignKey("studies.Finding", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "protocol_practiceimage"
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["study", "pixel_sha256"], name="one_practice_image_once")]

    def __str__(self) -> str:
        return f"practice image {self.pk} ({self.source})"


class Phase(models.TextChoices):
    PRACTICE = "practice", "Practice"
    STUDY = "study", "Study"


class SequenceSlot(models.Model):
    """One place in a reader's frozen sequence.

    A study slot shows a case: its first showing under the case's own ids, a repeat under ids of its own (so the API
    cannot tell them apart). A practice slot shows a practice image. ``segment`` 0 is the order frozen at first
    access; cases added to the study later are appended as segment 1, 2, ... so nobody's order is reshuffled.
    """

    membership = models.ForeignKey("studies.Membership", on_delete=models.CASCADE, related_name="slots")
    phase = models.CharField(max_length=8, choices=Phase.choices)
    position = models.PositiveIntegerField(help_text="1-based, within the phase.")
    case = models.ForeignKey("studies.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    practice_image = models.ForeignKey(PracticeImage, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="+")
    is_repeat = models.BooleanField(default=False)
    segment = models.PositiveSmallIntegerField(default=0)
    block = models.PositiveIntegerField(null=True, blank=True, help_text="1-based block number, when blocked.")
    public_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    image_token = models.CharField(max_length=32, unique=True, null=True, blank=True)

    class Meta:
        db_table = "protocol_sequenceslot"
        ordering = ["membership", "phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "phase", "position"], name="one_slot_per_position"),
            models.UniqueConstraint(fields=["membership", "case"], condition=Q(phase="study", is_repeat=False),
                                    name="one_first_showing_per_case"),
            models.CheckConstraint(
                condition=(Q(phase="study", case__isnull=False, practice_image__isnull=True)
                           | Q(phase="practice", case__isnull=True, practice_image__isnull=False, is_repeat=False)),
                name="slot_shows_a_case_or_a_practice_image"),
            models.CheckConstraint(condition=Q(is_repeat=False) | Q(public_id__isnull=False, image_token__isnull=False),
                                   name="repeat_slot_has_its_own_ids"),
            models.CheckConstraint(condition=Q(public_id__isnull=True) | never_starts_like_a_formula("public_id"),
                                   name="slot_public_id_never_starts_like_a_formula"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id}:{self.phase}#{self.position}"

    def give_own_ids(self) -> None:
        """Repeats and practice images are served under ids of their own, random like a case's."""
        if (self.is_repeat or self.phase == Phase.PRACTICE) and not self.public_id:
            self.public_id, self.image_token = new_public_id(), new_image_token()


class AnswerRecord(models.Model):
    """What every answer holds, whichever showing it answers: the answer, its confidence, the time it took."""

    answer = models.CharField(max_length=4, choices=Answer.choices)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    time_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Vote(AnswerRecord):
    """A reader's answer on a case's first showing: what Table 1 and every result count."""

    membership = models.ForeignKey("studies.Membership", on_delete=models.PROTECT, related_name="votes")
    case = models.ForeignKey("studies.Case", on_delete=models.PROTECT, related_name="votes")
    exposure_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long the image was shown before it was masked (timed studies only).")
    position = models.PositiveIntegerField(help_text="1-based position of the case in the reader's sequence.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "studies_vote"
        ordering = ["membership", "position"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "case"], name="one_vote_per_reader_per_case"),
            models.CheckConstraint(condition=Q(answer__in=["real", "fake"]), name="vote_answer_real_or_fake"),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                name="vote_confidence_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(time_ms__isnull=True) | Q(time_ms__lte=3_600_000), name="vote_time_ms_at_most_an_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership} {self.case.public_id}={self.answer}"


class Mark(models.Model):
    """A place a reader clicked on a first showing's image: what gave it away. In the 224 px image's pixels (the
    point, whatever the image's size on screen), with a confidence on the study's scale when it asks for one."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="marks")
    x = models.FloatField()
    y = models.FloatField()
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["vote", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(x__gte=0, x__lt=MARK_IMAGE_SIZE, y__gte=0, y__lt=MARK_IMAGE_SIZE),
                                   name="mark_inside_the_image"),
            models.CheckConstraint(condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                                   name="mark_confidence_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"mark on {self.vote_id} at ({self.x:.0f}, {self.y:.0f})"


class RepeatVote(AnswerRecord):
    """A reader's answer on a repeated showing; kept out of ``Vote`` so Table 1 counts each case once."""

    slot = models.OneToOneField(SequenceSlot, on_delete=models.PROTECT, related_name="repeat_vote")
    membership = models.ForeignKey("studies.Membership", on_delete=models.PROTECT, related_name="repeat_votes")
    case = models.ForeignKey("studies.Case", on_delete=models.PROTECT, related_name="repeat_votes")
    exposure_ms = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "protocol_repeatvote"
        ordering = ["membership", "slot__position"]
        constraints = [
            models.CheckConstraint(condition=Q(answer__in=["real", "fake"]), name="repeat_answer_real_or_fake"),
            models.CheckConstraint(condition=Q(confidence__isnull=True) | Q(confidence__gte=1, confidence__lte=5),
                                   name="repeat_confidence_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"repeat {self.slot_id}={self.answer}"


class PracticeVote(AnswerRecord):
    """An answer on a practice image: kept apart from every result."""

    slot = models.OneToOneField(SequenceSlot, on_delete=models.CASCADE, related_name="practice_vote")
    membership = models.ForeignKey("studies.Membership", on_delete=models.CASCADE, related_name="practice_votes")

    class Meta:
        db_table = "protocol_practicevote"
        constraints = [
            models.CheckConstraint(condition=Q(answer__in=["real", "fake"]), name="practice_answer_real_or_fake"),
        ]

    def __str__(self) -> str:
        return f"practice {self.slot_id}={self.answer}"


class FakeReason(models.Model):
    """The cues a reader ticked (labels as they read at the time) and an optional note, for a Fake first showing."""

    vote = models.OneToOneField(Vote, on_delete=models.CASCADE, related_name="fake_reason")
    cues = models.JSONField(default=list)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        db_table = "protocol_fakereason"

    def __str__(self) -> str:
        return ", ".join(self.cues) or self.note[:40]


class StaircaseTrack(models.Model):
    """One lane of a reader's adaptive exposure for one generator (``source``): the current level, the run of correct
    answers, the reversals, and the answers given on it that have not moved it yet (``pending``: they move it a
    secret number of answers later, docs/protocol.md section 4)."""

    membership = models.ForeignKey("studies.Membership", on_delete=models.CASCADE, related_name="staircases")
    source = models.ForeignKey("studies.Source", on_delete=models.PROTECT, related_name="+")
    lane = models.PositiveSmallIntegerField(default=0, help_text="Which of the generator's interleaved staircases.")
    level_ms = models.PositiveIntegerField()
    correct_run = models.PositiveSmallIntegerField(default=0)
    direction = models.SmallIntegerField(default=0, help_text="-1 shortening, +1 lengthening, 0 not yet moved")
    reversals = models.JSONField(default=list, help_text="Exposure (ms) at each change of direction.")
    trials = models.PositiveIntegerField(default=0)
    pending = models.JSONField(default=list, blank=True,
                               help_text="[answer number when it moves the lane, correct] per answer not applied yet.")

    class Meta:
        db_table = "protocol_staircasetrack"
        constraints = [models.UniqueConstraint(fields=["membership", "source", "lane"],
                                               name="one_staircase_per_source_lane")]

    def __str__(self) -> str:
        return f"{self.membership_id}/{self.source_id}#{self.lane}: {self.level_ms} ms"


class ImageShowing(models.Model):
    """One showing of a slot's image to its reader, under a token of its own.

    Tokens are issued for the image being shown and the one prefetched, never for another position; a repeat gets a
    fresh one like any showing. In a timed study a token expires ``exposure + IMAGE_GRACE_MS`` after it was issued
    or, for a prefetched image, after it became the one shown (``shown_at``).
    """

    token = models.CharField(max_length=32, unique=True, default=new_image_token, editable=False)
    membership = models.ForeignKey("studies.Membership", on_delete=models.CASCADE, related_name="+")
    slot = models.ForeignKey(SequenceSlot, on_delete=models.CASCADE, related_name="showings")
    issued_at = models.DateTimeField()
    shown_at = models.DateTimeField(null=True, blank=True, help_text="When it became the image shown.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Timed studies only.")
    flagged_at = models.DateTimeField(null=True, blank=True,
                                      help_text="First fetch outside the showing (recorded in the audit trail).")

    class Meta:
        db_table = "protocol_imageshowing"
        indexes = [models.Index(fields=["membership", "slot"], name="showing_by_reader_slot")]

    def __str__(self) -> str:
        return f"showing of {self.slot_id} ({self.token[:6]})"
