"""Image tokens per showing: a reader holds a URL only for the image being shown and the one prefetched.

A token is issued when a slot is shown (``next/``, or going back to an answered one) or prefetched, and reused while
it lives, so a prefetched image is served from the browser's cache once it is shown. In a timed study a token lives
for the exposure plus ``IMAGE_GRACE_MS``: from its issue while it is a prefetch, from the moment it is shown after
that. A fetch outside its showing (after the exposure, or after the slot was answered) is written to the audit trail
once per showing, so an admin can see a scripted reader; an expired token is refused as any unknown one is.

What this cannot stop: a script keeps the bytes it was sent, and a repeat's pixels are those of its first showing
(the stimulus must not change), so a script can hash them (docs/security.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from readerstudy.studies.models import Membership, Study, StudyAdministrator
from readerstudy.studies.operator import operator_access
from readerstudy.studies.permissions import may_administer
from readerstudy.studies.services import audit

from . import reading_sql
from .models import ImageShowing, PracticeImage

DEFAULT_GRACE_MS = 3000


def _grace() -> timedelta:
    return timedelta(milliseconds=getattr(settings, "IMAGE_GRACE_MS", DEFAULT_GRACE_MS))


def _expiry(now: datetime, exposure_ms: int | None) -> datetime | None:
    return None if exposure_ms is None else now + timedelta(milliseconds=exposure_ms) + _grace()


def image_url(token: str) -> str:
    return reverse("case_image", kwargs={"token": token})


@dataclass(frozen=True)
class ShowingUrls:
    shown: str  # the URL of the image shown now
    prefetch: str | None  # the URL of the one to prefetch
    over: bool = False  # the image was shown before and its timed showing is over: it is not shown again


def showing_urls(membership: Membership, shown_slot: int, exposure_ms: int | None,
                 prefetch_slot: int | None, *, revisit: bool = False) -> ShowingUrls:
    """The URLs of the image shown now and of the one to prefetch: tokens of live showings reused, others issued.
    Going back to an answered image (``revisit``) is a showing of its own, issued after the answer, so fetching it is
    not taken for a fetch after answering. An image whose timed showing is over is not issued again: its expired URL
    comes back with ``over`` (the reader answers without it; a fetch of it is refused and audited)."""
    now = timezone.now()
    if revisit:
        again = ImageShowing.objects.create(membership=membership, slot_id=shown_slot, issued_at=now, shown_at=now,
                                            expires_at=_expiry(now, exposure_ms))
        return ShowingUrls(image_url(again.token), None)
    slots = [shown_slot] + ([prefetch_slot] if prefetch_slot is not None and prefetch_slot != shown_slot else [])
    latest: dict[int, ImageShowing] = {}
    for showing in ImageShowing.objects.filter(membership=membership, slot_id__in=slots).order_by("-pk"):
        latest.setdefault(showing.slot_id, showing)
    shown = _as_shown(membership, shown_slot, latest.get(shown_slot), exposure_ms, now)
    over = not _live(shown, now)
    if len(slots) == 1:
        return ShowingUrls(image_url(shown.token), None, over)
    following = latest.get(prefetch_slot)
    if following is None or not _live(following, now):
        following = ImageShowing.objects.create(membership=membership, slot_id=prefetch_slot, issued_at=now,
                                                expires_at=_expiry(now, exposure_ms))
    return ShowingUrls(image_url(shown.token), image_url(following.token), over)


def _live(showing: ImageShowing, now: datetime) -> bool:
    return showing.expires_at is None or showing.expires_at > now


def _as_shown(membership: Membership, slot_id: int, showing: ImageShowing | None, exposure_ms: int | None,
              now: datetime) -> ImageShowing:
    """The showing of the slot now on screen: a prefetched one is shown from now on (its timed life starts again,
    its URL stays, so the browser's copy is used); one shown before is reused, also once its timed life is over (an
    image is shown once: asking again does not show it again); else a new one."""
    if showing is not None and showing.shown_at is None:
        if exposure_ms is not None or showing.expires_at is not None:
            showing.shown_at, showing.expires_at = now, _expiry(now, exposure_ms)
            showing.save(update_fields=["shown_at", "expires_at"])
        return showing
    if showing is not None:
        return showing
    return ImageShowing.objects.create(membership=membership, slot_id=slot_id, issued_at=now, shown_at=now,
                                       expires_at=_expiry(now, exposure_ms))


def fetched_image(user, token: str) -> tuple[str, bool] | None:
    """(stored file name, whether it is a practice image) behind a showing token for its reader (or the study's
    admins), or None when there is none, its timed showing is over, or (for its reader) the study is not open. A
    fetch outside the showing is audited, a study admin's included, and so is an admin's fetch of a reader's showing
    and a superuser's fetch outside the studies they administer."""
    now = timezone.now()
    staff = may_administer(user)
    found = reading_sql.showing_image(token, user.pk, is_staff=staff, superuser=user.is_superuser, now=now)
    if found is None:
        return None
    if user.is_superuser:
        _operator_if_outside(user, found)
    if found.expired or found.answered_since:
        _audit_fetch_outside_showing(user, found, now)
    elif staff and not ImageShowing.objects.filter(pk=found.showing_id, membership__user=user).exists():
        _audit_fetch_outside_showing(user, found, now, why="by a study admin, outside the reader's showing")
    if found.expired or (not found.study_open and not staff):
        return None  # a paused or closed study serves its readers no image (its admins still see them)
    return found.name, found.phase == "practice"


def _operator_if_outside(user, found: reading_sql.ShowingImage) -> None:
    """A superuser fetching a showing that is neither theirs nor of a study they administer: audited (operator)."""
    if ImageShowing.objects.filter(pk=found.showing_id, membership__user=user).exists():
        return
    if not StudyAdministrator.objects.filter(study_id=found.study_id, user=user).exists():
        operator_access(user, Study.objects.get(pk=found.study_id))


def _audit_fetch_outside_showing(user, found: reading_sql.ShowingImage, now: datetime, why: str = "") -> None:
    """Once per showing: a fetch after the exposure, after the answer, or by an admin (staff are audited as readers
    are: issue 29)."""
    if not ImageShowing.objects.filter(pk=found.showing_id, flagged_at__isnull=True).update(flagged_at=now):
        return  # already recorded for this showing
    why = why or ("after its exposure" if found.expired else "after it was answered")
    audit(Study(pk=found.study_id), user, "image_fetch", "image",
          f"{found.phase} position {found.position}", f"image fetched {why}")


PRACTICE_IMAGE_STORAGE = PracticeImage._meta.get_field("image").storage
