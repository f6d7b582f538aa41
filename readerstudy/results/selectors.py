"""Reads for the results, each a fixed number of queries however many votes and readers a study has.

``study_layout`` (3 queries) gives the labels; ``table1_counts`` (1 query) aggregates in the database;
``vote_arrays`` (2 queries: the cases, then the votes) fetches every vote as numpy columns, through PostgreSQL's
binary COPY where available (a million votes in under a second) and through ``values_list`` elsewhere;
``votes_for_export`` is a lazy, chunked iterator for the CSV export.
"""
from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.db import connection, models
from django.db.models import Count, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Coalesce

from analysis.statistics import Layout, Votes
from readerstudy.reading.models import RepeatVote, Vote
from readerstudy.studies.models import Answer, AuditEntry, Case, Finding, Membership, Source, Study


@dataclass(frozen=True)
class StudyLayout:
    """A study's readers (by pseudonym number), findings and sources, with their database ids, in display order."""

    reader_ids: list[int]
    reader_numbers: list[int]
    finding_ids: list[int]
    finding_names: list[str]
    source_ids: list[int]
    source_names: list[str]
    source_is_real: list[bool]

    @property
    def labels(self) -> Layout:
        return Layout(readers=[f"R{number}" for number in self.reader_numbers], findings=self.finding_names,
                      sources=self.source_names, source_is_real=self.source_is_real)


def study_layout(study: Study, memberships=None) -> StudyLayout:
    """Rows are the study's findings (and any finding its cases carry), columns its sources, Real first; readers are
    every member in pseudonym order, voted or not, so a reader with no votes shows zeros."""
    findings = list(
        Finding.objects.filter(Q(studies=study) | Q(cases__study=study, cases__excluded_at__isnull=True)).distinct()
        .order_by("order", "name").values_list("pk", "name")
    )
    sources = list(
        Source.objects.filter(Q(studies=study) | Q(cases__study=study, cases__excluded_at__isnull=True)).distinct()
        .order_by("-is_real", "order", "name")
        .values_list("pk", "name", "is_real")
    )
    members = memberships if memberships is not None else Membership.objects.filter(study=study)
    readers = list(members.order_by("number").values_list("pk", "number"))
    return StudyLayout(
        reader_ids=[pk for pk, _ in readers], reader_numbers=[number for _, number in readers],
        finding_ids=[pk for pk, _ in findings], finding_names=[name for _, name in findings],
        source_ids=[pk for pk, _, _ in sources], source_names=[name for _, name, _ in sources],
        source_is_real=[is_real for _, _, is_real in sources],
    )


def study_votes(study: Study):
    """The votes the results count: on the study's own cases, by its own readers, never on an excluded case."""
    return Vote.objects.filter(case__study=study, membership__study=study, case__excluded_at__isnull=True)


def table1_counts(study: Study) -> list[dict]:
    """Votes and "real" votes per (finding, source, reader), counted by the database in one grouped query."""
    return list(
        study_votes(study)
        .order_by()  # the model's default ordering would otherwise join the GROUP BY
        .values("case__finding_id", "case__source_id", "membership_id")
        .annotate(votes=Count("pk"), called_real=Count("pk", filter=Q(answer=Answer.REAL)))
    )


def _vote_columns(votes):
    """Five integer columns per vote, with no NULLs (so that PostgreSQL's binary COPY has fixed-width rows). The case's
    finding and source come from the study's cases (``_case_columns``), which spares the database a join."""
    as_int = lambda expression: Cast(expression, IntegerField())  # noqa: E731
    return (
        votes.order_by()
        .annotate(
            r_reader=as_int("membership_id"), r_case=as_int("case_id"),
            r_real=models.Case(When(answer=Answer.REAL, then=Value(1)), default=Value(0), output_field=IntegerField()),
            r_confidence=as_int(Coalesce("confidence", Value(0))), r_time=as_int(Coalesce("time_ms", Value(-1))),
        )
        .values_list("r_reader", "r_case", "r_real", "r_confidence", "r_time")
    )


VOTE_COLUMNS = 5


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _parse_binary_copy(data: bytes, columns: int) -> list[np.ndarray]:
    """The columns of a PostgreSQL binary COPY of int4 columns without NULLs, as int64 arrays."""
    if not data.startswith(_COPY_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension_length = struct.unpack(">i", data[15:19])[0]
    body = data[19 + extension_length:-2]  # the stream ends with a field count of -1
    fields = [("count", ">i2")]
    for column in range(columns):
        fields += [(f"length{column}", ">i4"), (f"value{column}", ">i4")]
    rows = np.frombuffer(body, dtype=np.dtype(fields))
    lengths_ok = all(np.all(rows[f"length{column}"] == 4) for column in range(columns))
    if rows.size and (np.any(rows["count"] != columns) or not lengths_ok):
        raise ValueError("unexpected row layout in the COPY stream")
    return [rows[f"value{column}"].astype(np.int64) for column in range(columns)]


def _fetch_vote_columns(votes) -> list[np.ndarray]:
    queryset = _vote_columns(votes)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            statement = cursor.mogrify(sql, params).decode()
            cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT binary)", buffer)
        return _parse_binary_copy(buffer.getvalue(), columns=VOTE_COLUMNS)
    rows = np.array(list(queryset), dtype=np.int64).reshape(-1, VOTE_COLUMNS)
    return [rows[:, column] for column in range(VOTE_COLUMNS)]


def _case_columns(study: Study) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The study's case ids with their finding and source ids and whether their origin was in the generator's
    training split (1 seen, 0 unseen, -1 no record) (one query); excluded cases are left out, so their votes (there
    should be none: cases are excluded only in a draft) are dropped by ``vote_arrays``."""
    rows = np.array(list(study.cases.included().order_by("pk").annotate(
        seen_code=models.Case(When(origin_seen=True, then=Value(1)), When(origin_seen=False, then=Value(0)),
                              default=Value(-1), output_field=IntegerField()))
        .values_list("pk", "finding_id", "source_id", "seen_code")), dtype=np.int64).reshape(-1, 4)
    return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]


def _dense(ids: np.ndarray, known: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` in ``known`` and a mask of the ids found there."""
    known_array = np.asarray(known, dtype=np.int64)
    order = np.argsort(known_array)
    sorted_known = known_array[order]
    where = np.searchsorted(sorted_known, ids).clip(0, max(len(known) - 1, 0))
    found = sorted_known[where] == ids if len(known) else np.zeros(len(ids), dtype=bool)
    return (order[where] if len(known) else where), found


def vote_arrays(study: Study, layout: StudyLayout, votes=None) -> Votes:
    """Every vote of the study (or of ``votes``, a narrower queryset) as numpy columns indexed like the layout."""
    if votes is None:
        votes = Vote.objects.filter(membership__study=study)  # votes on another study's cases are dropped below
    reader_id, case, real, confidence, time_ms = _fetch_vote_columns(votes)
    case_ids, case_finding_ids, case_source_ids, case_seen = _case_columns(study)
    case_position, case_found = _dense(case, case_ids.tolist())
    reader, reader_found = _dense(reader_id, layout.reader_ids)
    finding, finding_found = _dense(case_finding_ids[case_position] if len(case_ids) else case, layout.finding_ids)
    source, source_found = _dense(case_source_ids[case_position] if len(case_ids) else case, layout.source_ids)
    seen = (case_seen[case_position] if len(case_ids) else np.full(len(case), -1)).astype(float)
    keep = case_found & reader_found & finding_found & source_found
    if not keep.all():
        reader, case, finding, source = reader[keep], case[keep], finding[keep], source[keep]
        real, confidence, time_ms, seen = real[keep], confidence[keep], time_ms[keep], seen[keep]
    return Votes(reader=reader, case=case, finding=finding, source=source, called_real=real == 1,
                 confidence=np.where(confidence > 0, confidence, np.nan),
                 time_ms=np.where(time_ms >= 0, time_ms, np.nan), origin_seen=np.where(seen >= 0, seen, np.nan))


EXPORT_FIELDS = (
    "case__study__slug", "membership__number", "membership__user__username", "case__public_id", "case__finding__name",
    "case__source__name", "case__source__is_real", "answer", "confidence", "time_ms", "position", "created_at",
)


def votes_for_export(study: Study, membership: Membership | None = None) -> Iterator[tuple]:
    """One tuple per vote (fields as in EXPORT_FIELDS) in reader then sequence order, fetched in chunks of 2,000 rows
    (a server-side cursor on PostgreSQL), so memory stays flat however many votes there are."""
    votes = study_votes(study)
    if membership is not None:
        votes = votes.filter(membership=membership)
    return (
        votes.order_by("membership__number", "position", "pk")
        .values_list(*EXPORT_FIELDS)
        .iterator(chunk_size=2000)
    )


def excluded_cases(study: Study) -> list[dict]:
    """The study's excluded cases for the exports' metadata: id, finding, source, reason, when and by whom."""
    rows = (study.cases.excluded().order_by("excluded_at", "pk")
            .values_list("public_id", "finding__name", "source__name", "exclusion_reason", "excluded_at",
                         "excluded_by__username"))
    return [{"case": public_id, "finding": finding, "source": source, "reason": reason,
             "excluded_at": excluded_at.isoformat().replace("+00:00", "Z"), "excluded_by": username or ""}
            for public_id, finding, source, reason, excluded_at, username in rows]


def membership_by_pseudonym(study: Study, pseudonym: str) -> Membership | None:
    """The member called ``R<number>`` in this study, or None."""
    return Membership.objects.filter(study=study).with_pseudonym(pseudonym).first()


def _name(model, field: str | None = None) -> str:
    """A model's table, or one of its fields' column, quoted for the database."""
    quote = connection.ops.quote_name
    return quote(model._meta.db_table if field is None else model._meta.get_field(field).column)


def results_version(study: Study) -> tuple:
    """Everything the results depend on, read in one statement: the votes (how many, the last one, the last change),
    the repeat votes (the same), the readers and the cases (how many, the last one) and the last audited change
    (settings, cue list, exclusions). The analysis is cached under this: any new vote, change or setting gives a new
    version, so a cached result is never stale and the cache needs no invalidation. Each table is read once (one
    scan of the study's votes, not one per figure)."""
    member, member_id, member_study = _name(Membership), _name(Membership, "id"), _name(Membership, "study")

    def through_members(model) -> str:
        return (f"SELECT COUNT(*), MAX(v.{_name(model, 'id')}), MAX(v.{_name(model, 'updated_at')}) "
                f"FROM {_name(model)} v JOIN {member} m ON m.{member_id} = v.{_name(model, 'membership')} "
                f"WHERE m.{member_study} = %s")

    def own(model) -> str:
        return f"SELECT COUNT(*), MAX({_name(model, 'id')}) FROM {_name(model)} WHERE {_name(model, 'study')} = %s"

    sql = (f"SELECT * FROM ({through_members(Vote)}) votes, ({through_members(RepeatVote)}) repeats, "
           f"({own(Membership)}) members, ({own(Case)}) cases, ({own(AuditEntry)}) audit")
    with connection.cursor() as cursor:
        cursor.execute(sql, [study.pk] * 5)
        row = cursor.fetchone()
    return (study.pk, study.slug, *(str(value) for value in row))
