from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_provider_callbacks_to_intake"),
    ]

    operations = [
        migrations.DeleteModel(
            name="ProviderWebhookEvent",
        ),
    ]
