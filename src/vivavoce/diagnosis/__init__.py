"""Diagnosis: the catalogue of causes, the doctor's checks and their renderers.

``run_doctor`` / ``DoctorReport`` are the entry points; ``catalogue`` holds the causes,
their remedies per platform and the classifier for OpenAI's errors.
"""

from vivavoce.diagnosis.doctor import run_doctor, run_doctor_sync
from vivavoce.diagnosis.report import Check, DoctorReport, KeyInfo

__all__ = ["Check", "DoctorReport", "KeyInfo", "run_doctor", "run_doctor_sync"]
