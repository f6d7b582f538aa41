"""The invitation page: whoever holds the link logs in or creates an account (Django's ``UserCreationForm``), then
joins the study. Refusals come from the services and are shown as messages."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.utils import timezone

from . import services
from .models import Invitation, Study
from .usernames import UsernameRefused, new_username_checked


class InvitationSignUpForm(UserCreationForm):
    """Django's sign-up form (its username rules, the password validators, the password typed twice); the account is
    saved by ``services.invitation_sign_up`` together with the claim on the invitation."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def clean_username(self):
        try:
            return new_username_checked(self.data.get("username", ""))
        except UsernameRefused as exc:
            raise forms.ValidationError(exc.message) from None


def joined_message(study: Study) -> str:
    """What a new reader is told on joining: the study by name, and when they can read it."""
    if study.status == Study.Status.DRAFT:
        return (f"You joined “{study.name}”. It is not open yet: you will be able to read it when its administrator "
                "opens it; it will then appear below with a Start reading button.")
    if study.status == Study.Status.PAUSED:
        return f"You joined “{study.name}”. It is paused for now: you can read once its administrator resumes it."
    if study.status == Study.Status.CLOSED:
        return f"You joined “{study.name}”, but it is closed: there is nothing left to read."
    return f"You joined “{study.name}”. You can start reading now."


def invitation(request, token: str):
    """Anyone holding the link: log in or create an account, then join the study."""
    found = Invitation.objects.select_related("study").filter(token=token).first()
    if found is None or (found.used_by_id and (not request.user.is_authenticated
                                               or found.used_by_id != request.user.pk)) \
            or (not found.used_by_id and found.unusable_because(timezone.now())):
        return render(request, "studies/invitation.html", {"invalid": True}, status=404)
    form = InvitationSignUpForm()
    if request.method == "POST":
        if not request.user.is_authenticated:
            form = InvitationSignUpForm(request.POST)
            if not form.is_valid():
                return render(request, "studies/invitation.html", {"invitation": found, "form": form})
            try:
                user = services.invitation_sign_up(token, user=form.save(commit=False))
            except services.InvitationError as exc:
                messages.error(request, str(exc))
                return redirect("login")
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, joined_message(found.study))
            return redirect("home")
        try:
            services.invitation_accept(token, request.user)
        except services.InvitationError as exc:
            messages.error(request, str(exc))
            return redirect("home")
        messages.success(request, joined_message(found.study))
        return redirect("home")
    return render(request, "studies/invitation.html", {"invitation": found, "form": form})
