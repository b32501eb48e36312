"""Governance: the live overdue dashboard, the compliance report and the breach review.

Read-only on clinical data. The only write is a BreachReview, through
tracker.services.governance.
"""
