"""The audit trail and invitations join the set-up (their tables keep the ``protocol_*`` names) and ``Vote`` leaves for
``reading`` (its table keeps ``studies_vote``). State only: the database is not touched."""
import django.db.models.deletion
import readerstudy.studies.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('protocol', '0003_models_moved_to_reading_and_studies'),
        ('studies', '0006_merge_exclusion_and_admins'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='AuditEntry',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('at', models.DateTimeField(auto_now_add=True)),
                    ('action', models.CharField(max_length=32)),
                    ('field', models.CharField(blank=True, max_length=64)),
                    ('old_value', models.TextField(blank=True)),
                    ('new_value', models.TextField(blank=True)),
                    ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='audit_entries', to='studies.study')),
                ],
                options={
                    'verbose_name_plural': 'audit entries',
                    'db_table': 'protocol_auditentry',
                    'ordering': ['-at', '-pk'],
                },
            ),
            migrations.CreateModel(
                name='Invitation',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('token', models.CharField(default=readerstudy.studies.models.new_invitation_token, editable=False, max_length=40, unique=True)),
                    ('note', models.CharField(blank=True, help_text='Whom it is for (only admins see it).', max_length=120)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('used_at', models.DateTimeField(blank=True, null=True)),
                    ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='studies.study')),
                    ('used_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'protocol_invitation',
                    'ordering': ['-created_at'],
                },
            ),
            migrations.DeleteModel(
                name='Vote',
            ),
        ]),
    ]
