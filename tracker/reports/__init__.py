"""Radiology reports as versions: preliminary, final, corrected, cancelled.

Each report that reaches the tracker (HL7 ORU, the REST API or the flag screen) is stored as a
new version of its exam's report, never overwritten: what a referrer or a patient was shown at a
moment can always be shown again.
"""
