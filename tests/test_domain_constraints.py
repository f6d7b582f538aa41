"""The database itself holds the study's invariants."""
import pytest
from django.db import IntegrityError, transaction

from readerstudy.reading.models import Vote
from readerstudy.studies.models import Finding, Source


def test_the_papers_findings_and_sources_are_seeded(db):
    assert list(Finding.objects.values_list("name", flat=True)) == [
        "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Pneumonia", "Pneumothorax",
    ]
    assert [(s.name, s.is_real) for s in Source.objects.all()] == [
        ("Real", True), ("StarGAN", False), ("Pix2Pix", False), ("Pix2Pix-N", False),
    ]


def test_one_vote_per_reader_per_case_is_a_database_constraint(study_factory, reader_factory, case_factory):
    study = study_factory(status="open")
    membership = reader_factory(study)
    case = case_factory(study)
    Vote.objects.create(membership=membership, case=case, answer="real", position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(membership=membership, case=case, answer="fake", position=1)


@pytest.mark.parametrize("confidence", [0, 6])
def test_confidence_outside_one_to_five_is_refused_by_the_database(
    confidence, study_factory, reader_factory, case_factory
):
    study = study_factory(status="open")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(
            membership=reader_factory(study), case=case_factory(study), answer="real", position=1,
            confidence=confidence,
        )
