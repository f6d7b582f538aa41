"""The reading hot path's plain-SQL reads give exactly what the ORM gives, on SQLite and PostgreSQL alike."""
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.db.models import Count, Max
from django.test.utils import CaptureQueriesContext

from readerstudy.reading import reading_sql
from readerstudy.reading.models import Phase, SequenceSlot
from readerstudy.reading.services import freeze_sequence
from readerstudy.studies.models import Case


def test_the_fingerprint_counts_the_readers_slots_and_the_studys_cases(study_factory, reader_factory, case_factory):
    study = study_factory("fp", status="open")
    other = study_factory("other", status="open")
    for source in ("real", "pix2pix", "stargan"):
        case_factory(study, source=source)
    case_factory(other, source="real")
    membership = reader_factory(study)
    freeze_sequence(membership)
    stored = SequenceSlot.objects.filter(membership=membership).aggregate(n=Count("pk"), top=Max("pk"))
    assert reading_sql.sequence_fingerprint(membership.pk, study.pk) == (stored["n"], stored["top"], 3)


def test_a_reader_with_no_stored_sequence_has_an_empty_fingerprint(study_factory, reader_factory):
    study = study_factory("draft")
    membership = reader_factory(study)
    assert reading_sql.sequence_fingerprint(membership.pk, study.pk) == (0, None, 0)


def test_the_case_for_a_vote_carries_its_truth_and_its_first_showing_position(study_factory, reader_factory,
                                                                               case_factory):
    study = study_factory("cases", status="open")
    cases = [case_factory(study, source=source) for source in ("real", "pix2pix", "real", "stargan")]
    membership = reader_factory(study)
    freeze_sequence(membership)
    for case in cases:
        found = reading_sql.case_for_vote(membership.pk, study.pk, case.public_id)
        slot = SequenceSlot.objects.get(membership=membership, case=case, phase=Phase.STUDY, is_repeat=False)
        assert (found.pk, found.public_id, found.source_id, found.source_is_real, found.position) == (
            case.pk, case.public_id, case.source_id, case.source.is_real, slot.position)


def test_a_case_of_another_study_or_an_unknown_id_is_not_found(study_factory, reader_factory, case_factory):
    study, other = study_factory("mine", status="open"), study_factory("theirs", status="open")
    case_factory(study, source="real")
    foreign = case_factory(other, source="real")
    membership = reader_factory(study)
    assert reading_sql.case_for_vote(membership.pk, study.pk, foreign.public_id) is None
    assert reading_sql.case_for_vote(membership.pk, study.pk, "no-such-case") is None


def test_a_case_added_after_the_sequence_was_frozen_has_no_position_yet(study_factory, reader_factory, case_factory):
    study = study_factory("later", status="open")
    case_factory(study, source="real")
    membership = reader_factory(study)
    freeze_sequence(membership)
    late = case_factory(study, source="pix2pix")
    assert reading_sql.case_for_vote(membership.pk, study.pk, late.public_id).position is None


def test_a_cases_own_image_is_found_for_members_or_the_studys_admins(study_factory, reader_factory, case_factory):
    user_model = get_user_model()
    staff = user_model.objects.create_user("admin", is_staff=True)
    other_admin = user_model.objects.create_user("other-admin", is_staff=True)
    study = study_factory("img", status="open", admins=[staff])
    other = study_factory("elsewhere", status="open", admins=[other_admin])
    case = case_factory(study, source="real")
    member = reader_factory(study).user
    outsider = reader_factory(other).user
    name = Case.objects.get(pk=case.pk).image.name
    assert reading_sql.image_name(case.image_token, member.pk) == name
    assert reading_sql.image_name(case.image_token, staff.pk, as_admin=True) == name
    assert reading_sql.image_name(case.image_token, member.pk, as_admin=True) is None  # a case token: admins only
    assert reading_sql.image_name(case.image_token, other_admin.pk, as_admin=True) is None
    assert reading_sql.image_name(case.image_token, other_admin.pk, is_staff=True) is None  # the older name
    assert reading_sql.image_name(case.image_token, outsider.pk) is None
    assert reading_sql.image_name("wrong-token", member.pk) is None


def test_the_image_lookup_is_one_statement_for_readers_and_for_admins(study_factory, reader_factory, case_factory):
    staff = get_user_model().objects.create_user("admin", is_staff=True)
    study = study_factory("img", status="open", admins=[staff])
    case = case_factory(study, source="real")
    member = reader_factory(study).user
    with CaptureQueriesContext(connection) as reader_queries:
        assert reading_sql.image_name(case.image_token, member.pk)
    with CaptureQueriesContext(connection) as admin_queries:
        assert reading_sql.image_name(case.image_token, staff.pk, as_admin=True)
    assert len(reader_queries) == len(admin_queries) == 1
    assert "administrator" not in reader_queries.captured_queries[0]["sql"]  # the reader's statement as before


def _as_the_orm_loads_it(membership_id: int):
    from readerstudy.studies.models import Membership

    return Membership.objects.select_related("study", "study__protocol").get(pk=membership_id)


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_membership_comes_with_its_study_and_protocol_exactly_as_the_orm_builds_them(
        study_factory, reader_factory):
    from datetime import datetime
    from decimal import Decimal

    from readerstudy.reading.models import StudyProtocol

    study = study_factory("with-protocol", status="open")
    StudyProtocol.objects.create(study=study, block_size=8, repeat_percent=Decimal("12.50"), exposure_mode="fixed",
                                 exposure_ms=700, staircase_factor=Decimal("1.40"))
    membership = reader_factory(study)
    membership.last_activity_at = membership.joined_at
    membership.save()

    found, protocol = reading_sql.membership_in("with-protocol", membership.user_id)
    expected = _as_the_orm_loads_it(membership.pk)
    assert _values(found) == _values(expected)
    assert _values(found.study) == _values(expected.study)
    assert _values(protocol) == _values(expected.study.protocol)
    # Types as the ORM gives them on this database, not the driver's raw values.
    assert isinstance(found.joined_at, datetime) and found.joined_at.tzinfo is not None
    assert protocol.repeat_percent == Decimal("12.50")
    # Related objects are attached, so nothing is read again.
    with CaptureQueriesContext(connection) as queries:
        assert found.study.protocol is protocol
        assert found.study.protocol.study is found.study
    assert len(queries) == 0
    assert not found._state.adding and found._state.db == "default"


def test_a_study_without_a_protocol_row_has_none_loaded(study_factory, reader_factory):
    study = study_factory("plain", status="open")
    membership = reader_factory(study)
    found, protocol = reading_sql.membership_in("plain", membership.user_id)
    assert found.pk == membership.pk and found.study.pk == study.pk
    assert protocol is None


def test_no_membership_for_an_outsider_or_an_unknown_study(study_factory, reader_factory):
    study, other = study_factory("inside", status="open"), study_factory("outside", status="open")
    member = reader_factory(study)
    outsider = reader_factory(other)
    assert reading_sql.membership_in("inside", outsider.user_id) is None
    assert reading_sql.membership_in("no-such-study", member.user_id) is None


on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def _statements(queries) -> list[str]:
    return [query["sql"].split("(")[0].split(" AS ")[0] for query in queries.captured_queries]


@on_postgresql
def test_on_postgresql_each_statement_is_prepared_once_per_connection(study_factory, reader_factory, case_factory):
    study = study_factory("prepared", status="open")
    case = case_factory(study, source="real")
    membership = reader_factory(study)
    connection.prepared_statements.clear()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert reading_sql.membership_in("prepared", membership.user_id)[0].pk == membership.pk
            assert reading_sql.image_name(case.image_token, membership.user_id)
    assert _statements(queries) == [
        "PREPARE reading_membership", "EXECUTE reading_membership",
        "PREPARE reading_image_for_member", "EXECUTE reading_image_for_member",
    ] + ["EXECUTE reading_membership", "EXECUTE reading_image_for_member"] * 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        assert [row[0] for row in cursor.fetchall()] == ["reading_image_for_member", "reading_membership"]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again_and_a_rolled_back_transaction_keeps_what_was_prepared(
        study_factory, reader_factory):
    study = study_factory("reconnect", status="open")
    membership = reader_factory(study)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert reading_sql.membership_in("reconnect", membership.user_id)[0].pk == membership.pk
        raise ZeroDivisionError  # the transaction that prepared the statement is rolled back
    assert reading_sql.membership_in("reconnect", membership.user_id)[0].pk == membership.pk

    connection.close()  # as after a restart of the server or a connection past CONN_MAX_AGE
    with CaptureQueriesContext(connection) as queries:
        assert reading_sql.membership_in("reconnect", membership.user_id)[0].pk == membership.pk
    assert _statements(queries) == ["PREPARE reading_membership", "EXECUTE reading_membership"]


def test_placeholders_are_numbered_in_order_for_prepare():
    assert reading_sql._numbered("SELECT %s, (SELECT %s) WHERE a = %s") == "SELECT $1, (SELECT $2) WHERE a = $3"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_with_prepared_statements_switched_off_the_statements_are_sent_as_they_are(study_factory, reader_factory):
    study = study_factory("unprepared", status="open")
    membership = reader_factory(study)
    # A connection of its own with DB_PREPARED_STATEMENTS=0 (a copy of the settings: the shared dict stays as it is).
    default = connections["default"]
    wrapper = type(default)({**default.settings_dict, "PREPARED_STATEMENTS": False}, "default")
    try:
        wrapper.ensure_connection()
        assert wrapper.prepared_statements is None
        with mock.patch.object(reading_sql, "connection", wrapper), CaptureQueriesContext(wrapper) as queries:
            assert reading_sql.membership_in("unprepared", membership.user_id)[0].pk == membership.pk
        assert [query["sql"].split()[0] for query in queries.captured_queries] == ["SELECT"]
    finally:
        wrapper.close()
