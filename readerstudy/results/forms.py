"""The analysis-plan form of the set-up (the page's half of ``analysis_plan.plan_set``; the service checks the rest)."""
from __future__ import annotations

from django import forms

from .models import AnalysisPlan


class AnalysisPlanForm(forms.Form):
    endpoint = forms.ChoiceField(choices=AnalysisPlan.Endpoint.choices, label="Primary endpoint")
    test = forms.ChoiceField(choices=AnalysisPlan.Test.choices, initial=AnalysisPlan.Test.NON_INFERIORITY)
    margin = forms.FloatField(initial=0.10, help_text="Strictly between 0 and 1. Called-real rate: a generator passes "
                                                      "if its fakes are called real at most this much less often than "
                                                      "real images. AUC: if readers' AUC stays below 0.5 + margin.")
    alpha = forms.FloatField(initial=0.05, label="Alpha (one-sided)")
    primary = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        label="Primary comparisons", help_text="None ticked: every generator.")

    def __init__(self, *args, generators: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["primary"].choices = [(name, name) for name in generators]


class AdoptSizeForm(forms.Form):
    """A proposal row's button: the readers only (the cases are the plan's, computed by the service)."""

    readers = forms.IntegerField(min_value=1, max_value=100_000)
