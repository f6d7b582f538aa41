"""Each case records whether its origin was in its generator's training split (memorisation), where the batch says."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0007_audit_and_invitations_in_studies_votes_in_reading'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='origin_seen',
            field=models.BooleanField(blank=True, help_text="Whether the origin image was in the training split of the generator that made this case (memorisation); empty where the batch carried no such record. Always False for real images.", null=True),
        ),
    ]
