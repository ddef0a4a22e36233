"""NHS treatment function codes (TFCs): the specialties a PTL is reported by.

Why a list of our own: RTT waiting times are published by treatment function, so students
should meet the real codes (110 is Trauma and Orthopaedics wherever they go to work). The
/add form offers the most common ones as buttons and accepts any code below typed as a
number; a specialty not listed can still be typed as free text, because the platform's
`specialty` column is free text and tutors set scenarios outside this list.

Codes and names follow the NHS Data Dictionary's main specialty / treatment function code
list, as used in the RTT return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["COMMON", "TREATMENT_FUNCTIONS", "TreatmentFunction", "by_code", "lookup"]


@dataclass(frozen=True, slots=True)
class TreatmentFunction:
    code: str
    name: str
    """What is stored in `ptl_patients.specialty` (the Data Dictionary name)."""
    short: str
    """A button label that fits half a phone screen."""

    @property
    def display(self) -> str:
        return f"{self.code} {self.name}"


TREATMENT_FUNCTIONS: Final[tuple[TreatmentFunction, ...]] = (
    TreatmentFunction("100", "General Surgery", "General Surgery"),
    TreatmentFunction("101", "Urology", "Urology"),
    TreatmentFunction("103", "Breast Surgery", "Breast Surgery"),
    TreatmentFunction("104", "Colorectal Surgery", "Colorectal"),
    TreatmentFunction("105", "Hepatobiliary and Pancreatic Surgery", "HPB Surgery"),
    TreatmentFunction("106", "Upper Gastrointestinal Surgery", "Upper GI Surgery"),
    TreatmentFunction("107", "Vascular Surgery", "Vascular"),
    TreatmentFunction("108", "Spinal Surgery Service", "Spinal Surgery"),
    TreatmentFunction("110", "Trauma and Orthopaedics", "Trauma & Ortho"),
    TreatmentFunction("120", "Ear, Nose and Throat", "ENT"),
    TreatmentFunction("130", "Ophthalmology", "Ophthalmology"),
    TreatmentFunction("140", "Oral Surgery", "Oral Surgery"),
    TreatmentFunction("150", "Neurosurgery", "Neurosurgery"),
    TreatmentFunction("160", "Plastic Surgery", "Plastic Surgery"),
    TreatmentFunction("170", "Cardiothoracic Surgery", "Cardiothoracic"),
    TreatmentFunction("171", "Paediatric Surgery", "Paed Surgery"),
    TreatmentFunction("191", "Pain Management", "Pain Management"),
    TreatmentFunction("300", "General Internal Medicine", "General Medicine"),
    TreatmentFunction("301", "Gastroenterology", "Gastroenterology"),
    TreatmentFunction("302", "Endocrinology", "Endocrinology"),
    TreatmentFunction("303", "Clinical Haematology", "Haematology"),
    TreatmentFunction("320", "Cardiology", "Cardiology"),
    TreatmentFunction("330", "Dermatology", "Dermatology"),
    TreatmentFunction("340", "Respiratory Medicine", "Respiratory"),
    TreatmentFunction("361", "Nephrology", "Nephrology"),
    TreatmentFunction("370", "Medical Oncology", "Medical Oncology"),
    TreatmentFunction("400", "Neurology", "Neurology"),
    TreatmentFunction("410", "Rheumatology", "Rheumatology"),
    TreatmentFunction("420", "Paediatrics", "Paediatrics"),
    TreatmentFunction("430", "Elderly Medicine", "Elderly Medicine"),
    TreatmentFunction("501", "Obstetrics", "Obstetrics"),
    TreatmentFunction("502", "Gynaecology", "Gynaecology"),
    TreatmentFunction("800", "Clinical Oncology", "Clinical Oncology"),
)

_BY_CODE: Final[Mapping[str, TreatmentFunction]] = {t.code: t for t in TREATMENT_FUNCTIONS}

COMMON: Final[tuple[TreatmentFunction, ...]] = tuple(
    _BY_CODE[c]
    for c in ("100", "101", "110", "120", "130", "300", "301", "320", "330", "340", "400", "502")
)
"""The buttons on the specialty step: the treatment functions with the longest waiting lists."""

# Names people type for the listed specialties, lower case -> code.
_ALIASES: Final[Mapping[str, str]] = {
    **{t.name.lower(): t.code for t in TREATMENT_FUNCTIONS},
    **{t.short.lower(): t.code for t in TREATMENT_FUNCTIONS},
    "t&o": "110",
    "t and o": "110",
    "trauma & orthopaedics": "110",
    "orthopaedics": "110",
    "orthopedics": "110",
    "ortho": "110",
    "ent": "120",
    "ear nose and throat": "120",
    "ear, nose & throat": "120",
    "eyes": "130",
    "general medicine": "300",
    "gim": "300",
    "gastro": "301",
    "respiratory": "340",
    "respiratory medicine": "340",
    "thoracic medicine": "340",
    "geriatric medicine": "430",
    "care of the elderly": "430",
    "gynae": "502",
    "gynecology": "502",
    "haematology": "303",
    "renal": "361",
    "renal medicine": "361",
    "oncology": "370",
}


def by_code(code: str) -> TreatmentFunction | None:
    return _BY_CODE.get(code.strip())


def lookup(text: str) -> TreatmentFunction | None:
    """A listed treatment function from what a student typed: its code ("110", "TFC 110")
    or a name people use for it ("T&O", "orthopaedics"); None when it isn't one of ours."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned.startswith("tfc"):
        cleaned = cleaned[3:].strip(" :")
    if cleaned in _BY_CODE:
        return _BY_CODE[cleaned]
    head, _, rest = cleaned.partition(" ")
    if head in _BY_CODE and (not rest or _ALIASES.get(rest) == head):
        return _BY_CODE[head]
    code = _ALIASES.get(cleaned)
    return _BY_CODE[code] if code else None
