"""The reader study's set-up: studies, their findings and sources, cases, readers, admins, invitations and the
audit trail. Votes and everything else of reading live in ``readerstudy.reading``.

The invariants a study relies on (pseudonyms unique per study, one image once per study, one admin role per user) are
database constraints, so no code path and no race can break them.
"""
from __future__ import annotations

import secrets
import string
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.text import FORMULA_STARTS

# Letters and digits only: an id never starts like a spreadsheet formula ("-", "=", "+", "@"), so every export (CSV,
# iMRMC, API, gallery) carries it unchanged and files join on it. 16 characters: about 95 random bits.
PUBLIC_ID_ALPHABET = string.ascii_letters + string.digits
PUBLIC_ID_LENGTH = 16


def new_public_id() -> str:
    """An opaque case id: random, so it says nothing about order, source or finding; letters and digits only, so no
    spreadsheet reads it as a formula and no CSV export has to rewrite it."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def never_starts_like_a_formula(field: str) -> Q:
    """The condition of the database constraints that keep ``field`` (a public id) out of the formula guard's way."""
    return reduce(lambda both, start: both & ~Q(**{f"{field}__startswith": start}), FORMULA_STARTS, Q())


def new_image_token() -> str:
    """The unguessable token in an image's URL (128 bits), independent of the case id and the file name."""
    return secrets.token_urlsafe(16)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


def new_order_seed() -> int:
    return secrets.randbits(62)


def case_image_path(instance: Case, filename: str) -> str:
    """Store every case image under a random name: the original file name never reaches storage."""
    return f"cases/{secrets.token_hex(16)}.png"


def case_origin_path(instance: Case, filename: str) -> str:
    """A generated case's origin under a random name of its own, in its own folder: nothing links it to the case's
    image name or token, and no route serves the folder."""
    return f"origins/{secrets.token_hex(16)}.png"


class Finding(models.Model):
    """A pathology a case shows; the paper's six are seeded by a data migration."""

    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Source(models.Model):
    """Where an image comes from: Real or a generator. A new generator is a row, not code."""

    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    is_real = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-is_real", "order", "name"]

    def __str__(self) -> str:
        return self.name


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    findings = models.ManyToManyField(Finding, related_name="studies", blank=True)
    sources = models.ManyToManyField(Source, related_name="studies", blank=True)

    allow_vote_changes = models.BooleanField(default=False, help_text="Readers may go back and change a vote.")
    show_finding = models.BooleanField(
        default=False, help_text="Show the finding name to readers (hidden in the paper)."
    )
    show_progress = models.BooleanField(default=True, help_text="Show readers their progress (37 of 600).")
    ask_confidence = models.BooleanField(default=False, help_text="Ask for a 1-5 confidence after each answer.")
    show_own_score_when_closed = models.BooleanField(default=False)
    planned_readers = models.PositiveIntegerField(
        null=True, blank=True, help_text="Readers the power analysis asks for (empty: not planned yet).")
    planned_cases = models.PositiveIntegerField(
        null=True, blank=True, help_text="Cases the power analysis asks for (empty: not planned yet).")
    crop_margin = models.FloatField(
        default=0.0, help_text="Fraction cut from each border before resizing to 224x224 (removes border artefacts)."
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(crop_margin__gte=0) & Q(crop_margin__lt=0.25), name="study_crop_margin_in_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def own_score_refusal(self) -> str:
        """Why a reader may not see their own score now, or "" when they may: only once the study is closed (never
        while anyone still reads), and only where the study shows scores. The API and the reader's page ask here."""
        if self.status != self.Status.CLOSED:
            return "Your score is shown once the study is closed."
        if not self.show_own_score_when_closed:
            return "This study does not show readers their score."
        return ""


class CaseQuerySet(models.QuerySet):
    def included(self) -> CaseQuerySet:
        """The cases readers read and the results count: every case an admin has not excluded."""
        return self.filter(excluded_at__isnull=True)

    def excluded(self) -> CaseQuerySet:
        return self.filter(excluded_at__isnull=False)


class Case(models.Model):
    """One image in one study. Its truth (source) is for admins; readers only ever see the opaque ids.

    An admin may exclude a case while the study is a draft (a broken image, a misplaced box): it stays stored and
    listed for admins, but no reader's sequence holds it and no result counts it.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cases")
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    image_token = models.CharField(max_length=32, unique=True, default=new_image_token, editable=False)
    image = models.FileField(upload_to=case_image_path, max_length=200)
    pixel_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the normalised PNG's bytes.")
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="cases")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="cases")
    batch = models.ForeignKey(
        "batches.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    provenance = models.JSONField(default=dict, blank=True, help_text="Original file hash and manifest row (admins).")
    origin_file = models.FileField(
        upload_to=case_origin_path, max_length=200, blank=True, editable=False,
        help_text="The image the generator started from, in the study frame (the batch's origins/ folder): for the "
        "marks analysis only (how much each pixel changed), never served to a reader. Empty where the batch had none.",
    )
    origin_seen = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether the origin image was in the training split of the generator that made this case "
        "(memorisation); empty where the batch carried no such record. Always False for real images.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    excluded_at = models.DateTimeField(null=True, blank=True, help_text="Set when an admin excluded the case.")
    exclusion_reason = models.CharField(max_length=500, blank=True)
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "pixel_sha256"], name="one_image_once_per_study"),
            # An exclusion always says why; a case that is not excluded carries no reason.
            models.CheckConstraint(
                condition=(Q(excluded_at__isnull=True) & Q(exclusion_reason=""))
                | (Q(excluded_at__isnull=False) & ~Q(exclusion_reason="")),
                name="case_excluded_with_a_reason",
            ),
            models.CheckConstraint(condition=never_starts_like_a_formula("public_id"),
                                   name="case_public_id_never_starts_like_a_formula"),
        ]
        indexes = [models.Index(fields=["study", "finding", "source"], name="case_study_cell")]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.public_id}"

    @property
    def is_excluded(self) -> bool:
        return self.excluded_at is not None


class MembershipQuerySet(models.QuerySet):
    def with_pseudonym(self, pseudonym: str) -> MembershipQuerySet:
        """The member called ``R<number>`` (``r`` too); none for anything that is not a pseudonym. The one way every
        page, API, command and export finds a reader by the name results give them."""
        number = pseudonym[1:] if pseudonym[:1] in ("R", "r") else ""
        if not (number.isascii() and number.isdigit() and len(number) <= 9):
            return self.none()
        return self.filter(number=int(number))


class Membership(models.Model):
    """A reader in a study, known in results by a stable pseudonym (R1, R2, ... by order of joining)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    number = models.PositiveIntegerField()
    order_seed = models.BigIntegerField(default=new_order_seed)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["study", "number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="one_membership_per_user_per_study"),
            models.UniqueConstraint(fields=["study", "number"], name="one_pseudonym_per_study"),
            models.CheckConstraint(condition=Q(number__gte=1), name="membership_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}:{self.pseudonym}"

    @property
    def pseudonym(self) -> str:
        return f"R{self.number}"


class Answer(models.TextChoices):
    REAL = "real", "Real"
    FAKE = "fake", "Fake"


class StudyAdministrator(models.Model):
    """A study admin: sees the study's truth, results and exports, runs its batches, jobs and protocol, manages its
    readers and admins. A study has its own admins; a staff account administers only the studies it is listed for.
    Grants and removals go through ``services.study_admin_grant`` / ``study_admin_revoke`` (audited)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="administrators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="administered")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    made_staff = models.BooleanField(
        default=False, help_text="The grant made the account staff: removing the account's last admin role undoes it.")

    class Meta:
        ordering = ["study", "granted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="one_admin_role_per_user_per_study")]

    def __str__(self) -> str:
        return f"{self.study.slug}: admin {self.user}"


class AuditEntry(models.Model):
    """Who changed what about a study, and when. Written in the same transaction as the change."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=32)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        db_table = "protocol_auditentry"
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.field}"


class InvitationQuerySet(models.QuerySet):
    def not_withdrawn(self) -> InvitationQuerySet:
        return self.filter(revoked_at__isnull=True)

    def usable(self, now) -> InvitationQuerySet:
        """Links that still let someone join: unused, not withdrawn, not expired (``unusable_because`` in SQL)."""
        return self.not_withdrawn().filter(used_by__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class Invitation(models.Model):
    """A link that lets whoever holds it create an account (or use theirs) and join the study, once."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=40, unique=True, default=new_invitation_token, editable=False)
    note = models.CharField(max_length=120, blank=True, help_text="Whom it is for (only admins see it).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True,
                                      help_text="After this an unused link no longer works (INVITATION_TTL_DAYS).")
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="An admin withdrew the link.")

    objects = InvitationQuerySet.as_manager()

    class Meta:
        db_table = "protocol_invitation"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation to {self.study_id} ({self.note or self.token[:6]})"

    def unusable_because(self, now) -> str | None:
        """Why an unused link no longer works (revoked, expired), or None."""
        if self.revoked_at is not None:
            return "This invitation link was withdrawn."
        if self.expires_at is not None and self.expires_at <= now:
            return "This invitation link has expired; ask for a new one."
        return None
