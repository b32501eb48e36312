import pytest

from tracker.models import Channel, Outcome
from tracker.services import findings as services


@pytest.fixture
def call():
    def _call(finding, actor, outcome=Outcome.READ_BACK, channel=Channel.PHONE, **kwargs):
        kwargs.setdefault("contacted_user", finding.responsible_clinician)
        return services.attempt_log(
            actor=actor, finding=finding, channel=channel, outcome=outcome, **kwargs
        )

    return _call
