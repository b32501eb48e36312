"""Create the default communication policy (ACR timeframes) so every install has one."""

from django.db import migrations


def create_default_policy(apps, schema_editor):
    from tracker.models.policy import DEFAULT_POLICIES, default_chain

    Policy = apps.get_model("tracker", "CommunicationPolicy")
    HistoricalPolicy = apps.get_model("tracker", "HistoricalCommunicationPolicy")
    from django.utils import timezone

    for category, values in DEFAULT_POLICIES.items():
        values = {**values, "accepted_channels": [str(c) for c in values["accepted_channels"]]}
        policy, created = Policy.objects.get_or_create(
            category=str(category), defaults={**values, "escalation_chain": default_chain()}
        )
        if created:
            # Historical models are not wired to signals inside migrations: write the first
            # history row by hand so the policy's audit trail starts at its creation.
            HistoricalPolicy.objects.create(
                id=policy.id,
                category=policy.category,
                label=policy.label,
                contact_deadline=policy.contact_deadline,
                acknowledgement_window=policy.acknowledgement_window,
                warning_percent=policy.warning_percent,
                accepted_channels=policy.accepted_channels,
                read_back_required=policy.read_back_required,
                escalation_chain=policy.escalation_chain,
                reminder_interval=policy.reminder_interval,
                max_alerts_per_person_per_hour=policy.max_alerts_per_person_per_hour,
                history_date=timezone.now(),
                history_type="+",
                history_change_reason="Default policy (ACR practice parameter)",
            )


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]

    operations = [migrations.RunPython(create_default_policy, migrations.RunPython.noop)]
