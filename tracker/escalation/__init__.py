"""The escalation engine: which steps of a finding's escalation chain are due, who is told,
and delivering each step exactly once. See docs/architecture.md, "Escalation engine".

- rules.py: pure time logic (a function of the finding, its policy, what was sent and `now`).
- engine.py: the sweep that claims due findings and records each due step once.
- delivery.py: sending a recorded step through the notification channels, with retries.
- schedule.py: the hook services call so a changed finding is looked at again.
"""
