"""Pages for readers and study admins; the work is done in services and selectors."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import studies_for_reader


@login_required
def home(request):
    return render(request, "studies/home.html", {"studies": studies_for_reader(request.user)})
