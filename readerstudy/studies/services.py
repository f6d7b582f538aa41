"""Writes of the study set-up: creating studies (the lifecycle, opening and closing, is
``readerstudy.reading.lifecycle``), admins, adding readers, invitations, storing cases, and
the audit trail they write.

Every function here either does all of its work or none of it (one transaction, its audit entry included), and leans
on the database constraints for the races: two admins adding readers at once, three sign-ups on one invitation.
"""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from readerstudy.errors import ApplicationError, Conflict, NotFound

from .blinding import blinded_bytes
from .models import AuditEntry, Case, Finding, Invitation, Membership, Source, Study, StudyAdministrator
from .signals import reader_ready
from .usernames import new_username_checked, username_checked


class StudyStateError(Conflict):
    """A study is not in a state that allows the operation (for example a vote on a closed study)."""

    field = "study"


class InvitationError(ApplicationError):
    """An invitation that cannot be used (unknown, used by someone else, its study closed) or a sign-up refused."""


def study_create(*, slug: str, name: str, description: str = "", created_by=None, **options) -> Study:
    """A draft study over all findings and all sources; ``options`` are the study's reading settings. Its creator
    (when there is one) is its first admin."""
    with transaction.atomic():
        study = Study.objects.create(slug=slug, name=name, description=description, created_by=created_by, **options)
        study.findings.set(Finding.objects.all())
        study.sources.set(Source.objects.all())
        if created_by is not None:
            study_admin_grant(study=study, user=created_by, actor=created_by)
    return study


class LastAdmin(Conflict):
    """Removing this admin would leave the study with none."""

    field = "username"


def study_admin_grant(*, study: Study, user, actor) -> tuple[StudyAdministrator, bool]:
    """Make ``user`` an admin of ``study`` (audited); returns (role, created). Study admins are staff accounts (staff
    alone administers nothing), so the account is marked staff if it is not yet."""
    with transaction.atomic():
        role, created = StudyAdministrator.objects.get_or_create(
            study=study, user=user, defaults={"granted_by": actor if getattr(actor, "pk", None) else None})
        if created:
            if not user.is_staff:
                type(user).objects.filter(pk=user.pk).update(is_staff=True)
                user.is_staff = True
                role.made_staff = True
                role.save(update_fields=["made_staff"])
            audit(study, actor, "admin_granted", field="admin", new=user.get_username())
    return role, created


class GrantRefused(ApplicationError):
    """An admin grant to an account that is not a reader of the study (or that does not exist: the same answer, so
    the grant does not tell whether a username exists)."""

    field = "username"

    def __init__(self) -> None:
        super().__init__("Only a reader of this study can be made its admin: add the account as a reader first.",
                         "username")


def study_admin_grant_named(*, study: Study, username: str, actor) -> tuple[StudyAdministrator, bool]:
    """An admin's grant from the readers page or the API: only to an account that reads in this study or already
    administers it (an admin cannot reach an account that has nothing to do with the study, e.g. another study's
    reader). The server's operator grants any account (``manage.py study_admins``)."""
    user = get_user_model().objects.filter(username=username).filter(
        Q(memberships__study=study) | Q(administered__study=study)).distinct().first()
    if user is None:
        raise GrantRefused()
    return study_admin_grant(study=study, user=user, actor=actor)


def study_admin_revoke(*, study: Study, user, actor) -> bool:
    """Remove ``user``'s admin rights on ``study`` (audited); False when they had none. The last admin cannot be
    removed (``LastAdmin``): the study's rows are locked, so two admins removing each other at once cannot both
    succeed."""
    with transaction.atomic():
        admins = list(StudyAdministrator.objects.select_for_update().filter(study=study).order_by("pk"))
        role = next((admin for admin in admins if admin.user_id == user.pk), None)
        if role is None:
            return False
        if len(admins) == 1:
            raise LastAdmin(f"{user.get_username()} is the last admin of {study.slug}: add another admin first.")
        role.delete()
        if role.made_staff:
            _staff_given_back(user)
        audit(study, actor, "admin_revoked", field="admin", old=user.get_username())
    return True


def _staff_given_back(user) -> None:
    """The removed role's grant made the account staff: another of its roles carries that on, or, when none is left,
    the account is no longer staff (a superuser keeps it)."""
    other = StudyAdministrator.objects.filter(user=user).order_by("pk").first()
    if other is not None:
        StudyAdministrator.objects.filter(pk=other.pk).update(made_staff=True)
    elif not user.is_superuser:
        type(user).objects.filter(pk=user.pk).update(is_staff=False)
        user.is_staff = False


def reader_add(*, study: Study, username: str, password: str | None = None, actor=None,
               audit_action: str = "reader_added") -> tuple[Membership, bool]:
    """Add a reader to a study, creating the account if it does not exist; returns (membership, created).

    However a reader is added (the readers page, the API, ``manage.py add_reader``, an invitation), the addition is
    audited here, naming ``actor`` (None: the server's operator) and the new pseudonym, in the transaction that adds
    the reader: if anything fails, neither the account, nor the membership, nor the entry is left behind.

    The pseudonym number is the next free one in the study. Two admins adding readers at the same moment may pick the
    same number; the unique constraint refuses the second, which then retries with the next number.
    """
    user_model = get_user_model()
    username = username_checked(username)
    with transaction.atomic():
        user = user_model.objects.filter(username=username).first()
        if user is None:
            new_username_checked(username)
            try:
                with transaction.atomic():
                    user = user_model.objects.create_user(username, password=password)
                    if password is None:
                        user.set_unusable_password()
                        user.save(update_fields=["password"])
            except IntegrityError:
                user = user_model.objects.get(username=username)

        for _attempt in range(20):
            existing = Membership.objects.filter(study=study, user=user).first()
            if existing is not None:
                return existing, False
            number = (Membership.objects.filter(study=study).aggregate(top=Max("number"))["top"] or 0) + 1
            try:
                with transaction.atomic():
                    membership = Membership.objects.create(study=study, user=user, number=number)
            except IntegrityError:
                continue  # someone took this number (or added this user) meanwhile: look again
            audit(study, actor, audit_action, "readers", "", membership.pseudonym)
            if study.status != Study.Status.DRAFT:
                _freeze(membership)
            return membership, True
    raise RuntimeError(f"Could not add {username} to {study.slug}: too many concurrent additions.")


def _freeze(membership: Membership) -> None:
    """Let reading store the reader's sequence now (the study opened, or a reader joined an open one), so that the
    first reading request does not pay for it and cases imported later are appended rather than reshuffled."""
    reader_ready.send(sender=Membership, membership=membership)


def case_create_from_png(
    *, study: Study, finding: Finding, source: Source, png_bytes: bytes, provenance: dict | None = None, batch=None
) -> Case:
    """Store one normalised PNG as a case, in the blinded form readers receive (already so for a batch's images):
    the stored bytes' hash guards against the same image twice in a study (same pixels, same bytes), and the file
    gets a random name so nothing about its origin reaches storage or URLs."""
    png_bytes = blinded_bytes(png_bytes)
    case = Case(
        study=study,
        finding=finding,
        source=source,
        batch=batch,
        pixel_sha256=hashlib.sha256(png_bytes).hexdigest(),
        provenance=provenance or {},
    )
    case.image.save("case.png", ContentFile(png_bytes), save=False)
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        case.image.delete(save=False)
        raise
    return case


def audit(study: Study, actor, action: str, field: str = "", old="", new="") -> AuditEntry:
    return AuditEntry.objects.create(study=study, actor=actor if getattr(actor, "pk", None) else None,
                                     action=action, field=field, old_value=_text(old), new_value=_text(new))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# --- invitations ------------------------------------------------------------------------------------------------

def invitation_create(study: Study, actor, note: str = "") -> Invitation:
    """A link that works once, until it expires (``INVITATION_TTL_DAYS``, 14) or an admin withdraws it."""
    expires = timezone.now() + timedelta(days=getattr(settings, "INVITATION_TTL_DAYS", 14))
    with transaction.atomic():
        invitation = Invitation.objects.create(study=study, note=note[:120], created_by=actor, expires_at=expires)
        audit(study, actor, "invitation", "readers", "", note or "link")
    return invitation


def invitation_to_withdraw(study: Study, invitation_id: int, *, lock: bool = False) -> Invitation:
    """The study's link ``invitation_id`` if it can still be withdrawn: the one rule for the API's DELETE, the readers
    page's Withdraw and the question that page asks first. ``NotFound`` for an unknown link or another study's; a
    conflict for one already used (its reader stays) or expired (it no longer works: nothing to withdraw). A link
    withdrawn already is returned as it is, so withdrawing twice is harmless."""
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects.all()
    invitation = invitations.filter(study=study, pk=invitation_id).first()  # used_by: nullable, no outer join to lock
    if invitation is None:
        raise NotFound("No such invitation in this study.", "invitation")
    if invitation.used_by_id is not None:
        raise Conflict(f"This invitation was used already, by {invitation.used_by.get_username()}: it no longer "
                       "works, and withdrawing it would not remove the reader.", "invitation")
    if invitation.revoked_at is None and invitation.expires_at is not None and invitation.expires_at <= timezone.now():
        raise Conflict(f"This invitation link expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC: it no longer "
                       "works, so there is nothing to withdraw.", "invitation")
    return invitation


def invitation_revoke(study: Study, actor, invitation_id: int) -> Invitation:
    """Withdraw a link of the study that still works (audited); refused as ``invitation_to_withdraw`` says."""
    with transaction.atomic():
        invitation = invitation_to_withdraw(study, invitation_id, lock=True)
        if invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit(study, actor, "invitation_revoked", "readers", invitation.note or "link", "")
    return invitation


def invitation_accept(token: str, user) -> Membership:
    """Join the invitation's study as ``user``; an invitation works once (a second use by the same user is a no-op).

    The link is claimed by a conditional update (``used_by`` still empty), so of several requests at once exactly one
    wins, whatever the database's locking."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("study").filter(token=token).first()
        if invitation is None:
            raise InvitationError("This invitation link is not valid.", "token")
        if invitation.used_by_id is not None and invitation.used_by_id != user.pk:
            raise InvitationError("This invitation link has already been used.", "token")
        if invitation.used_by_id is None and invitation.unusable_because(timezone.now()):
            raise InvitationError(invitation.unusable_because(timezone.now()), "token")
        if invitation.study.status == Study.Status.CLOSED:
            raise InvitationError("This study is closed.", "study")
        if invitation.used_by_id is None:
            claimed = Invitation.objects.filter(pk=invitation.pk, used_by__isnull=True).update(
                used_by=user, used_at=timezone.now())
            if not claimed:
                raise InvitationError("This invitation link has already been used.", "token")
            membership, _created = reader_add(study=invitation.study, username=user.get_username(), actor=user,
                                              audit_action="joined")
            return membership
        membership, _created = reader_add(study=invitation.study, username=user.get_username())
    return membership


def invitation_sign_up(token: str, *, user):
    """Save a new account (``user``, unsaved, as the sign-up form built it) and join the invitation's study, all or
    nothing: when the link was used meanwhile (three sign-ups at once), no account is left behind. Returns the user."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise InvitationError("This username is taken; log in first if it is yours.", "username") from None
        invitation_accept(token, user)
    return user


def study_plan_update(study: Study, actor, *, readers: int | None, cases: int | None) -> Study:
    """Record the readers and cases a power analysis asks for (audited); empty clears them."""
    with transaction.atomic():
        changed = []
        for field, value in (("planned_readers", readers), ("planned_cases", cases)):
            old = getattr(study, field)
            if old != value:
                setattr(study, field, value)
                changed.append(field)
                audit(study, actor, "setting", field, old, value)
        if changed:
            study.save(update_fields=changed)
    return study
