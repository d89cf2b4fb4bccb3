"""The kinds of account in a population, by code: the legitimate kinds, the rings, and the look-alikes.

Codes are positions in :data:`KINDS` (what truth.csv's ``kind`` column says). The
legitimate groups that look like rings were added after "ring", so that the codes of
the earlier kinds, and the populations drawn with them, stay as they were.
"""

from __future__ import annotations

__all__ = [
    "KINDS",
    "INDIVIDUAL",
    "HOUSEHOLD",
    "COMPANY",
    "CAMPUS",
    "HEAVY",
    "INTEGRATOR",
    "RING",
    "CLASSROOM",
    "EVAL_COMPANY",
    "FRAMEWORK_DEV",
    "HACKATHON",
    "SIGNUP_WAVE",
    "LOOKALIKES",
]

#: Account kinds in truth.csv, by code; the legitimate groups that look like rings come after "ring".
KINDS = (
    "individual",
    "household",
    "company",
    "campus",
    "heavy",
    "integrator",
    "ring",
    "classroom",
    "eval_company",
    "framework_dev",
    "hackathon",
    "signup_wave",
)
INDIVIDUAL, HOUSEHOLD, COMPANY, CAMPUS, HEAVY, INTEGRATOR, RING = range(7)
CLASSROOM, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON, SIGNUP_WAVE = range(7, 12)
#: The look-alike kinds, in the order their groups are laid out.
LOOKALIKES = (CLASSROOM, EVAL_COMPANY, FRAMEWORK_DEV, HACKATHON, SIGNUP_WAVE)
