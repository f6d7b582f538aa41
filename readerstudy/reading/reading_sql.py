"""The reads on the reading hot path, as single parameterised SQL statements.

Every reader request runs one of these. Built through the ORM, each costs 2-4 ms of query compilation on a small
server (correlated subqueries are the expensive part) for well under a millisecond of database time; as plain SQL
they cost 0.5-0.7 ms in all (bench/bench_reading.py; docs/reader-core.md). Table and column names come from the
models' ``_meta``, rows become model instances through the fields' own database converters (``_Rows``), and
tests/test_reading_sql.py checks each answer against the ORM's.

On PostgreSQL each statement is prepared once per connection (``PREPARE``, then ``EXECUTE``): planning the membership
join took 0.4 ms of the 0.5 ms the statement cost. The backend (``readerstudy.db.postgresql``) keeps the record of
what is prepared on the open connection; with any other backend the statements are sent as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.db import connection

from readerstudy.studies.models import Case, Membership, Source, Study, StudyAdministrator

from .models import ImageShowing, Phase, PracticeImage, PracticeVote, RepeatVote, SequenceSlot, StudyProtocol, Vote


@dataclass(frozen=True)
class CaseForVote:
    pk: int
    public_id: str
    source_id: int
    source_is_real: bool
    position: int | None  # 1-based place of the case's first showing in the reader's sequence; None if not stored


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


class _Rows:
    """Turns the columns of one model, read by plain SQL, into an instance as the ORM would build it: the same
    concrete fields in the same order, each value through the converters the ORM's compiler would apply (SQLite
    stores datetimes and decimals as text, PostgreSQL's JSON comes as a string, ...)."""

    def __init__(self, model, alias: str):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.pk_index = self.fields.index(model._meta.pk)
        self.columns = ", ".join(f"{alias}.{connection.ops.quote_name(field.column)}" for field in self.fields)
        self._converters: dict[str, list] = {}

    def converters(self) -> list:
        """(index, converters, column expression) for the fields that need converting on this connection."""
        if connection.vendor not in self._converters:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                chain = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if chain:
                    found.append((index, chain, column))
            self._converters[connection.vendor] = found
        return self._converters[connection.vendor]

    def instance(self, values: tuple):
        """The model instance for its slice of a row, or None where an outer join found no row."""
        if values[self.pk_index] is None:
            return None
        values = list(values)
        for index, chain, column in self.converters():
            for converter in chain:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def _membership_rows() -> tuple[_Rows, _Rows, _Rows]:
    return _Rows(Membership, "m"), _Rows(Study, "s"), _Rows(StudyProtocol, "p")


@cache
def _sql() -> dict[str, str]:
    case, slot, source, member, showing = Case, SequenceSlot, Source, Membership, ImageShowing
    slots, cases = _table(slot), _table(case)
    first_showing = (f"{_column(slot, 'phase')} = '{Phase.STUDY.value}' AND NOT {_column(slot, 'is_repeat')}")
    included = f"{_column(case, 'excluded_at')} IS NULL"  # an excluded case is never read, voted on or served
    membership, study, protocol = _membership_rows()
    admins = StudyAdministrator

    def admin_of(study_column: str) -> str:
        return (f"EXISTS (SELECT 1 FROM {_table(admins)} a WHERE a.{_column(admins, 'study')} = {study_column} "
                f"AND a.{_column(admins, 'user')} = %s)")

    # A showing's image with what tells a fetch outside it, for the token's reader (or, below, others).
    showing_select = (
        f"SELECT COALESCE(c.{_column(case, 'image')}, pi.{_column(PracticeImage, 'image')}), "
        f"sh.{_column(showing, 'id')}, m.{_column(member, 'study')}, sl.{_column(slot, 'phase')}, "
        f"sl.{_column(slot, 'position')}, "
        f"(sh.{_column(showing, 'expires_at')} IS NOT NULL AND sh.{_column(showing, 'expires_at')} < %s), "
        f"CASE WHEN sl.{_column(slot, 'phase')} = '{Phase.PRACTICE.value}' THEN EXISTS (SELECT 1 FROM "
        f"{_table(PracticeVote)} pv WHERE pv.{_column(PracticeVote, 'slot')} = sl.{_column(slot, 'id')} "
        f"AND pv.{_column(PracticeVote, 'created_at')} > sh.{_column(showing, 'issued_at')}) "
        f"WHEN sl.{_column(slot, 'is_repeat')} THEN EXISTS (SELECT 1 FROM {_table(RepeatVote)} rv "
        f"WHERE rv.{_column(RepeatVote, 'slot')} = sl.{_column(slot, 'id')} "
        f"AND rv.{_column(RepeatVote, 'created_at')} > sh.{_column(showing, 'issued_at')}) "
        f"ELSE EXISTS (SELECT 1 FROM {_table(Vote)} v WHERE v.{_column(Vote, 'membership')} = "
        f"sh.{_column(showing, 'membership')} AND v.{_column(Vote, 'case')} = sl.{_column(slot, 'case')} "
        f"AND v.{_column(Vote, 'created_at')} > sh.{_column(showing, 'issued_at')}) END, "
        # whether the study is open: a paused or closed study serves its readers no image
        f"(SELECT st.{_column(Study, 'status')} FROM {_table(Study)} st "
        f"WHERE st.{_column(Study, 'id')} = m.{_column(member, 'study')}) = '{Study.Status.OPEN.value}' "
        f"FROM {_table(showing)} sh "
        f"JOIN {_table(member)} m ON m.{_column(member, 'id')} = sh.{_column(showing, 'membership')} "
        f"JOIN {slots} sl ON sl.{_column(slot, 'id')} = sh.{_column(showing, 'slot')} "
        f"LEFT JOIN {cases} c ON c.{_column(case, 'id')} = sl.{_column(slot, 'case')} "
        f"LEFT JOIN {_table(PracticeImage)} pi ON pi.{_column(PracticeImage, 'id')} = "
        f"sl.{_column(slot, 'practice_image')} "
        f"WHERE sh.{_column(showing, 'token')} = %s AND "
    )
    return {
        "membership": (
            f"SELECT {membership.columns}, {study.columns}, {protocol.columns} FROM {_table(Membership)} m "
            f"JOIN {_table(Study)} s ON s.{_column(Study, 'id')} = m.{_column(Membership, 'study')} "
            f"LEFT JOIN {_table(protocol.model)} p ON p.{_column(protocol.model, 'study')} = s.{_column(Study, 'id')} "
            f"WHERE s.{_column(Study, 'slug')} = %s AND m.{_column(Membership, 'user')} = %s "
            f"ORDER BY m.{_column(Membership, 'id')} LIMIT 1"
        ),
        "fingerprint": (
            f"SELECT COUNT(*), MAX({_column(slot, 'id')}), "
            f"(SELECT COUNT(*) FROM {cases} WHERE {_column(case, 'study')} = %s AND {included}) "
            f"FROM {slots} WHERE {_column(slot, 'membership')} = %s"
        ),
        "case_for_vote": (
            f"SELECT c.{_column(case, 'id')}, c.{_column(case, 'public_id')}, c.{_column(case, 'source')}, "
            f"s.{_column(source, 'is_real')}, "
            f"(SELECT {_column(slot, 'position')} FROM {slots} WHERE {_column(slot, 'membership')} = %s "
            f"AND {_column(slot, 'case')} = c.{_column(case, 'id')} AND {first_showing} LIMIT 1) "
            f"FROM {cases} c JOIN {_table(source)} s ON s.{_column(source, 'id')} = c.{_column(case, 'source')} "
            f"WHERE c.{_column(case, 'study')} = %s AND c.{_column(case, 'public_id')} = %s AND c.{included}"
        ),
        "image_for_member": (
            f"SELECT c.{_column(case, 'image')} FROM {cases} c WHERE c.{_column(case, 'image_token')} = %s "
            f"AND c.{included} AND EXISTS (SELECT 1 FROM {_table(member)} m WHERE m.{_column(member, 'study')} = "
            f"c.{_column(case, 'study')} AND m.{_column(member, 'user')} = %s)"
        ),
        "voted_cases": (
            f"SELECT {_column(Vote, 'case')} FROM {_table(Vote)} WHERE {_column(Vote, 'membership')} = %s"
        ),
        # A case's own token, for the admins of the case's study (one statement; a superuser outside their studies
        # is looked up by the image view afterwards, and audited).
        "image_for_admin": (
            f"SELECT c.{_column(case, 'image')} FROM {cases} c WHERE c.{_column(case, 'image_token')} = %s "
            f"AND {admin_of('c.' + _column(case, 'study'))}"
        ),
        "image_for_showing": showing_select + f"(m.{_column(member, 'user')} = %s OR %s)",
        # A staff account's fetch of a showing: its own (a preview) or one of a study it administers.
        "image_for_showing_admin": (showing_select + f"(m.{_column(member, 'user')} = %s OR "
                                    + admin_of(f"m.{_column(member, 'study')}") + ")"),
    }


def _numbered(sql: str) -> str:
    """``%s`` placeholders as PREPARE wants them: $1, $2, ... in order."""
    numbers = iter(range(1, sql.count("%s") + 1))
    return re.sub("%s", lambda _: f"${next(numbers)}", sql)


@cache
def _prepared_sql(name: str) -> tuple[str, str]:
    """(PREPARE, EXECUTE) for one of the statements, built once per process."""
    sql, statement = _sql()[name], f"reading_{name}"
    arguments = ", ".join(["%s"] * sql.count("%s"))
    return f"PREPARE {statement} AS {_numbered(sql)}", f"EXECUTE {statement}({arguments})"


def _execute(cursor, name: str, params: list) -> None:
    """Run one of the statements: prepared on first use on this connection where the backend keeps a record of it
    (PREPARE survives a rolled-back transaction, so the record cannot outlive the statement), plain otherwise."""
    prepared = getattr(connection, "prepared_statements", None)
    if prepared is None:
        cursor.execute(_sql()[name], params)
        return
    prepare, execute = _prepared_sql(name)
    if name not in prepared:
        cursor.execute(prepare)
        prepared.add(name)
    cursor.execute(execute, params)


def _one(name: str, params: list):
    with connection.cursor() as cursor:
        _execute(cursor, name, params)
        return cursor.fetchone()


def membership_in(slug: str, user_id: int) -> tuple[Membership, StudyProtocol | None] | None:
    """The user's membership in the study with this slug, its ``study`` loaded as ``select_related("study")`` would,
    and the study's protocol (None when it has none); or None when the user is not a member."""
    row = _one("membership", [slug, user_id])
    if row is None:
        return None
    instances, start = [], 0
    for part in _membership_rows():
        instances.append(part.instance(row[start:start + len(part.fields)]))
        start += len(part.fields)
    membership, study, protocol = instances
    Membership.study.field.set_cached_value(membership, study)
    Study.protocol.related.set_cached_value(study, protocol)
    if protocol is not None:
        type(protocol).study.field.set_cached_value(protocol, study)
    return membership, protocol


def sequence_fingerprint(membership_id: int, study_id: int) -> tuple[int, int | None, int]:
    """(the reader's stored slots, their largest id, the study's cases but the excluded ones): what tells whether a
    reader's cached sequence is current and whether cases were added since it was frozen."""
    count, top, cases = _one("fingerprint", [study_id, membership_id])
    return count, top, cases


def voted_case_ids(membership_id: int) -> list[int]:
    """The cases the reader has voted on (first showings; repeats and practice answers are kept elsewhere)."""
    with connection.cursor() as cursor:
        _execute(cursor, "voted_cases", [membership_id])
        return [row[0] for row in cursor.fetchall()]


def case_for_vote(membership_id: int, study_id: int, public_id: str) -> CaseForVote | None:
    """The study's case with this public id, its source's truth and its first showing's position, or None."""
    row = _one("case_for_vote", [membership_id, study_id, public_id])
    return CaseForVote(*row) if row else None


def image_name(token: str, user_id: int, *, as_admin: bool = False, is_staff: bool | None = None) -> str | None:
    """The stored file name of the case behind a case's own image token: with ``as_admin`` (for staff accounts), if
    the user administers the case's study; otherwise if the user is a member of it. None otherwise; one statement
    either way. Readers are given showing tokens instead (``showing_image``).

    ``is_staff`` is the argument's name from before per-study roles, kept so that callers written against it are
    per-study too: a staff account finds only the images of the studies it administers."""
    if as_admin or is_staff:
        row = _one("image_for_admin", [token, user_id])
    else:
        row = _one("image_for_member", [token, user_id])
    return row[0] if row else None


@dataclass(frozen=True)
class ShowingImage:
    name: str  # the stored file (a case's or a practice image's)
    showing_id: int
    study_id: int
    phase: str
    position: int
    expired: bool  # a timed showing past its exposure and grace
    answered_since: bool  # the slot was answered after this showing was issued: the showing is over
    study_open: bool = True  # a paused or closed study serves its readers nothing


def showing_image(token: str, user_id: int, *, is_staff: bool, now, superuser: bool = False) -> ShowingImage | None:
    """The image behind a showing token for its reader (with ``is_staff``: or an admin of its study; a
    ``superuser``: anyone's), with what tells a fetch outside the showing. One statement; a reader's is the same as
    before per-study roles."""
    moment = connection.ops.adapt_datetimefield_value(now)
    if is_staff and not superuser:
        row = _one("image_for_showing_admin", [moment, token, user_id, user_id])
    else:
        row = _one("image_for_showing", [moment, token, user_id, superuser])
    return ShowingImage(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), bool(row[7])) if row \
        else None
