"""The study's pre-registered analysis plan: the question the results answer first, fixed before the study opens."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from readerstudy.studies.models import Source, Study


class AnalysisPlan(models.Model):
    """Primary endpoint, test, margin and alpha of the equivalence / non-inferiority analysis
    (``analysis.equivalence``), and which generators are the primary comparisons (none chosen: every generator).

    Set while the study is a draft; opening freezes it (``services.plan_set`` refuses every change after), and every
    change is in the study's audit trail, so the report can show the plan was registered before the first vote."""

    class Endpoint(models.TextChoices):
        CALLED_REAL = "called_real", "Called-real rate: generator minus real"
        AUC = "auc", "AUC of telling fakes from real (needs confidence ratings)"

    class Test(models.TextChoices):
        NON_INFERIORITY = "non_inferiority", "Non-inferiority (one-sided)"
        EQUIVALENCE = "equivalence", "Equivalence (two one-sided tests)"

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="analysis_plan")
    endpoint = models.CharField(max_length=16, choices=Endpoint.choices, default=Endpoint.CALLED_REAL)
    test = models.CharField(max_length=16, choices=Test.choices, default=Test.NON_INFERIORITY)
    margin = models.FloatField(default=0.10, help_text="Strictly between 0 and 1, e.g. 0.10.")
    alpha = models.FloatField(default=0.05, help_text="One-sided, strictly between 0 and 0.5, e.g. 0.05.")
    primary = models.ManyToManyField(Source, blank=True, related_name="+",
                                     help_text="The generators whose comparison with the real images is primary "
                                               "(none: every generator).")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    registered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(margin__gt=0) & Q(margin__lt=1), name="analysis_plan_margin_in_0_1"),
            models.CheckConstraint(condition=Q(alpha__gt=0) & Q(alpha__lt=0.5), name="analysis_plan_alpha_in_0_half"),
            models.CheckConstraint(condition=Q(endpoint__in=["called_real", "auc"]),
                                   name="analysis_plan_endpoint_known"),
            models.CheckConstraint(condition=Q(test__in=["non_inferiority", "equivalence"]),
                                   name="analysis_plan_test_known"),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}: {self.test} on {self.endpoint}, margin {self.margin:g}"
