from tracker.models import CommunicationPolicy


def set_policy(category, **values):
    """Change the site policy as an administrator would: one saved row, under history."""
    policy = CommunicationPolicy.objects.get(category=category)
    for field, value in values.items():
        setattr(policy, field, value)
    policy.save()
    return policy
