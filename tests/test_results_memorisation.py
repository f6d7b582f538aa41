"""Memorisation measured (issue 26, point 2): each generator's figures for fakes of seen and of unseen origins side by
side, with the difference seen minus unseen and its RRRC interval; a batch without the record is named."""
from __future__ import annotations

import numpy as np
import pytest

from readerstudy.reading.models import Vote
from readerstudy.results.services import build_statistics
from readerstudy.studies.models import Case
from tests.test_results_mrmc import build_study, page


def mark_origins(study, source: str, seen_share: float | None, seed: int = 1) -> list[Case]:
    cases = list(Case.objects.filter(study=study, source__slug=source).order_by("pk"))
    if seen_share is None:
        Case.objects.filter(pk__in=[case.pk for case in cases]).update(origin_seen=None)
        return []
    half = int(len(cases) * seen_share)
    Case.objects.filter(pk__in=[case.pk for case in cases[:half]]).update(origin_seen=True)
    Case.objects.filter(pk__in=[case.pk for case in cases[half:]]).update(origin_seen=False)
    return cases[:half]


def test_seen_origins_that_pass_more_often_show_a_positive_difference_with_its_rrrc_interval(db, client,
                                                                                              staff_user):
    study = build_study(readers=4, slug="memory", per_generator=16)
    seen = mark_origins(study, "pix2pix", 0.5)
    # every reader calls pix2pix fakes of seen origins real: memorised images pass
    Vote.objects.filter(case__in=seen).update(answer="real")
    mark_origins(study, "stargan", 0.5)
    mark_origins(study, "pix2pix-n", None)  # a batch with no record
    report = build_statistics(study)["memorisation"]
    rows = {row["generator"]: row for row in report["generators"]}
    pix2pix = rows["Pix2Pix"]
    assert pix2pix["analysis"] == "RRRC" and (pix2pix["seen_cases"], pix2pix["unseen_cases"]) == (8, 8)
    assert pix2pix["called_real"]["seen"]["estimate"] == pytest.approx(1.0)
    difference = pix2pix["called_real_difference"]
    assert (difference["first"], difference["second"]) == ("Pix2Pix (seen)", "Pix2Pix (unseen)")
    assert difference["difference"] > 0.3 and difference["ci_low"] < difference["difference"] < difference["ci_high"]
    assert pix2pix["auc_difference"] is not None  # confidence was asked: the AUC side by side too
    assert "no record" in rows["Pix2Pix-N"]["note"] and "cannot be measured" in rows["Pix2Pix-N"]["note"]
    html = page(client, staff_user, "memory")
    table = html[html.index('id="memorisation-table"'):html.index('id="all-analyses"')]
    assert "Pix2Pix" in table and "cannot be measured" in table and "8 / 8 / 0" in table


def test_without_any_record_the_page_says_so(db, client, staff_user):
    build_study(readers=3, slug="norecord")
    report = build_statistics(Case.objects.first().study)["memorisation"]
    assert all("no record" in row["note"] for row in report["generators"])
    assert np.all([row.get("called_real") is None for row in report["generators"]])
