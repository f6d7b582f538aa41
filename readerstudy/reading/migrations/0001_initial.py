"""The reading app takes over its models with their tables as they are (``studies_vote``, ``protocol_*``). State only:
the database is not touched (a new database gets the tables from the ``studies`` and ``protocol`` migrations)."""
import django.db.models.deletion
import readerstudy.reading.models
import readerstudy.studies.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('studies', '0007_audit_and_invitations_in_studies_votes_in_reading'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='PracticeImage',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('image', models.FileField(max_length=200, upload_to=readerstudy.reading.models.practice_image_path)),
                    ('pixel_sha256', models.CharField(max_length=64)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('finding', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='studies.finding')),
                    ('source', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='studies.source')),
                    ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='practice_images', to='studies.study')),
                ],
                options={
                    'db_table': 'protocol_practiceimage',
                    'ordering': ['pk'],
                },
            ),
            migrations.CreateModel(
                name='SequenceSlot',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('phase', models.CharField(choices=[('practice', 'Practice'), ('study', 'Study')], max_length=8)),
                    ('position', models.PositiveIntegerField(help_text='1-based, within the phase.')),
                    ('is_repeat', models.BooleanField(default=False)),
                    ('segment', models.PositiveSmallIntegerField(default=0)),
                    ('block', models.PositiveIntegerField(blank=True, help_text='1-based block number, when blocked.', null=True)),
                    ('public_id', models.CharField(blank=True, max_length=32, null=True, unique=True)),
                    ('image_token', models.CharField(blank=True, max_length=32, null=True, unique=True)),
                    ('case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='studies.case')),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='slots', to='studies.membership')),
                    ('practice_image', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='reading.practiceimage')),
                ],
                options={
                    'db_table': 'protocol_sequenceslot',
                    'ordering': ['membership', 'phase', 'position'],
                },
            ),
            migrations.CreateModel(
                name='RepeatVote',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('answer', models.CharField(choices=[('real', 'Real'), ('fake', 'Fake')], max_length=4)),
                    ('confidence', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('time_ms', models.PositiveIntegerField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('exposure_ms', models.PositiveIntegerField(blank=True, null=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='repeat_votes', to='studies.case')),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='repeat_votes', to='studies.membership')),
                    ('slot', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='repeat_vote', to='reading.sequenceslot')),
                ],
                options={
                    'db_table': 'protocol_repeatvote',
                    'ordering': ['membership', 'slot__position'],
                },
            ),
            migrations.CreateModel(
                name='PracticeVote',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('answer', models.CharField(choices=[('real', 'Real'), ('fake', 'Fake')], max_length=4)),
                    ('confidence', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('time_ms', models.PositiveIntegerField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='practice_votes', to='studies.membership')),
                    ('slot', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='practice_vote', to='reading.sequenceslot')),
                ],
                options={
                    'db_table': 'protocol_practicevote',
                },
            ),
            migrations.CreateModel(
                name='ImageShowing',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('token', models.CharField(default=readerstudy.studies.models.new_image_token, editable=False, max_length=32, unique=True)),
                    ('issued_at', models.DateTimeField()),
                    ('shown_at', models.DateTimeField(blank=True, help_text='When it became the image shown.', null=True)),
                    ('expires_at', models.DateTimeField(blank=True, help_text='Timed studies only.', null=True)),
                    ('flagged_at', models.DateTimeField(blank=True, help_text='First fetch outside the showing (recorded in the audit trail).', null=True)),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='studies.membership')),
                    ('slot', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='showings', to='reading.sequenceslot')),
                ],
                options={
                    'db_table': 'protocol_imageshowing',
                },
            ),
            migrations.CreateModel(
                name='StaircaseTrack',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('level_ms', models.PositiveIntegerField()),
                    ('correct_run', models.PositiveSmallIntegerField(default=0)),
                    ('direction', models.SmallIntegerField(default=0, help_text='-1 shortening, +1 lengthening, 0 not yet moved')),
                    ('reversals', models.JSONField(default=list, help_text='Exposure (ms) at each change of direction.')),
                    ('trials', models.PositiveIntegerField(default=0)),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staircases', to='studies.membership')),
                    ('source', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='studies.source')),
                ],
                options={
                    'db_table': 'protocol_staircasetrack',
                },
            ),
            migrations.CreateModel(
                name='StudyProtocol',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('block_size', models.PositiveIntegerField(default=0, help_text='Balance the order in blocks of this many images (0: one plain seeded shuffle).')),
                    ('repeat_percent', models.DecimalField(decimal_places=2, default=0, help_text='Share of cases (percent) shown a second time later in the sequence, unannounced.', max_digits=5)),
                    ('practice_count', models.PositiveSmallIntegerField(default=0, help_text='Practice images shown before the study (from the practice pool).')),
                    ('practice_feedback', models.BooleanField(default=False, help_text='Tell readers after each practice image whether it was real (practice only).')),
                    ('exposure_mode', models.CharField(choices=[('off', 'Off: the image stays until answered'), ('fixed', 'Fixed: shown for a set time, then masked'), ('adaptive', 'Adaptive: a staircase per reader and source')], default='off', max_length=8)),
                    ('exposure_ms', models.PositiveIntegerField(blank=True, help_text='Exposure in ms (fixed mode), or the starting exposure (adaptive mode).', null=True)),
                    ('staircase_down', models.PositiveSmallIntegerField(default=2, help_text='Adaptive mode: correct answers in a row before the exposure is shortened.')),
                    ('staircase_factor', models.DecimalField(decimal_places=2, default=1.25, help_text='Adaptive mode: the exposure is divided (after a run of correct answers) or multiplied (after an error) by this factor.', max_digits=4)),
                    ('ask_fake_reasons', models.BooleanField(default=False, help_text='After a Fake answer, let readers tick the cues that gave the image away.')),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('study', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='protocol', to='studies.study')),
                ],
                options={
                    'db_table': 'protocol_studyprotocol',
                },
            ),
            migrations.CreateModel(
                name='Vote',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('answer', models.CharField(choices=[('real', 'Real'), ('fake', 'Fake')], max_length=4)),
                    ('confidence', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('time_ms', models.PositiveIntegerField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('exposure_ms', models.PositiveIntegerField(blank=True, help_text='How long the image was shown before it was masked (timed studies only).', null=True)),
                    ('position', models.PositiveIntegerField(help_text="1-based position of the case in the reader's sequence.")),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='votes', to='studies.case')),
                    ('membership', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='votes', to='studies.membership')),
                ],
                options={
                    'db_table': 'studies_vote',
                    'ordering': ['membership', 'position'],
                },
            ),
            migrations.CreateModel(
                name='FakeReason',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('cues', models.JSONField(default=list)),
                    ('note', models.TextField(blank=True, max_length=1000)),
                    ('vote', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='fake_reason', to='reading.vote')),
                ],
                options={
                    'db_table': 'protocol_fakereason',
                },
            ),
            migrations.CreateModel(
                name='FakeCue',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('label', models.CharField(max_length=80)),
                    ('order', models.PositiveSmallIntegerField(default=0)),
                    ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fake_cues', to='studies.study')),
                ],
                options={
                    'db_table': 'protocol_fakecue',
                    'ordering': ['order', 'pk'],
                    'constraints': [models.UniqueConstraint(fields=('study', 'label'), name='one_cue_label_per_study')],
                },
            ),
            migrations.AddConstraint(
                model_name='practiceimage',
                constraint=models.UniqueConstraint(fields=('study', 'pixel_sha256'), name='one_practice_image_once'),
            ),
            migrations.AddConstraint(
                model_name='sequenceslot',
                constraint=models.UniqueConstraint(fields=('membership', 'phase', 'position'), name='one_slot_per_position'),
            ),
            migrations.AddConstraint(
                model_name='sequenceslot',
                constraint=models.UniqueConstraint(condition=models.Q(('is_repeat', False), ('phase', 'study')), fields=('membership', 'case'), name='one_first_showing_per_case'),
            ),
            migrations.AddConstraint(
                model_name='sequenceslot',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('case__isnull', False), ('phase', 'study'), ('practice_image__isnull', True)), models.Q(('case__isnull', True), ('is_repeat', False), ('phase', 'practice'), ('practice_image__isnull', False)), _connector='OR'), name='slot_shows_a_case_or_a_practice_image'),
            ),
            migrations.AddConstraint(
                model_name='sequenceslot',
                constraint=models.CheckConstraint(condition=models.Q(('is_repeat', False), models.Q(('image_token__isnull', False), ('public_id__isnull', False)), _connector='OR'), name='repeat_slot_has_its_own_ids'),
            ),
            migrations.AddConstraint(
                model_name='repeatvote',
                constraint=models.CheckConstraint(condition=models.Q(('answer__in', ['real', 'fake'])), name='repeat_answer_real_or_fake'),
            ),
            migrations.AddConstraint(
                model_name='repeatvote',
                constraint=models.CheckConstraint(condition=models.Q(('confidence__isnull', True), models.Q(('confidence__gte', 1), ('confidence__lte', 5)), _connector='OR'), name='repeat_confidence_1_to_5'),
            ),
            migrations.AddConstraint(
                model_name='practicevote',
                constraint=models.CheckConstraint(condition=models.Q(('answer__in', ['real', 'fake'])), name='practice_answer_real_or_fake'),
            ),
            migrations.AddIndex(
                model_name='imageshowing',
                index=models.Index(fields=['membership', 'slot'], name='showing_by_reader_slot'),
            ),
            migrations.AddConstraint(
                model_name='staircasetrack',
                constraint=models.UniqueConstraint(fields=('membership', 'source'), name='one_staircase_per_source'),
            ),
            migrations.AddConstraint(
                model_name='studyprotocol',
                constraint=models.CheckConstraint(condition=models.Q(('repeat_percent__gte', 0), ('repeat_percent__lte', 100)), name='protocol_repeat_percent_0_100'),
            ),
            migrations.AddConstraint(
                model_name='studyprotocol',
                constraint=models.CheckConstraint(condition=models.Q(('exposure_ms__isnull', True), models.Q(('exposure_ms__gte', 50), ('exposure_ms__lte', 60000)), _connector='OR'), name='protocol_exposure_50ms_to_1min'),
            ),
            migrations.AddConstraint(
                model_name='studyprotocol',
                constraint=models.CheckConstraint(condition=models.Q(('exposure_mode', 'off'), ('exposure_ms__isnull', False), _connector='OR'), name='protocol_timed_needs_exposure'),
            ),
            migrations.AddConstraint(
                model_name='studyprotocol',
                constraint=models.CheckConstraint(condition=models.Q(('staircase_down__gte', 1)), name='protocol_staircase_down_positive'),
            ),
            migrations.AddConstraint(
                model_name='studyprotocol',
                constraint=models.CheckConstraint(condition=models.Q(('staircase_factor__gt', 1)), name='protocol_staircase_factor_above_1'),
            ),
            migrations.AddConstraint(
                model_name='vote',
                constraint=models.UniqueConstraint(fields=('membership', 'case'), name='one_vote_per_reader_per_case'),
            ),
            migrations.AddConstraint(
                model_name='vote',
                constraint=models.CheckConstraint(condition=models.Q(('answer__in', ['real', 'fake'])), name='vote_answer_real_or_fake'),
            ),
            migrations.AddConstraint(
                model_name='vote',
                constraint=models.CheckConstraint(condition=models.Q(('confidence__isnull', True), models.Q(('confidence__gte', 1), ('confidence__lte', 5)), _connector='OR'), name='vote_confidence_1_to_5'),
            ),
            migrations.AddConstraint(
                model_name='vote',
                constraint=models.CheckConstraint(condition=models.Q(('time_ms__isnull', True), ('time_ms__lte', 3600000), _connector='OR'), name='vote_time_ms_at_most_an_hour'),
            ),
        ]),
    ]
