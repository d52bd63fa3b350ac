"""Job-ad noise removal from title queries (jobmatch.server.index.cleaning): a pure module, no index."""

from __future__ import annotations

import pytest

from jobmatch.server.index.cleaning import clean_job_title, has_letters, named_title

CASES_EN = [
    # gender markers
    ("Data Analyst (m/f/d)", "Data Analyst"),
    ("Graphic Designer (all genders)", "Graphic Designer"),
    ("Marketing Coordinator (f/m/x)", "Marketing Coordinator"),
    ("Warehouse Associate (M/F)", "Warehouse Associate"),
    # asides and tails
    ("Registered Nurse (RN) - Med/Surg - Nights", "Registered Nurse"),
    ("Senior Software Engineer (Java/Spring) - Remote", "Software Engineer"),
    ("Embedded Software Engineer (C/C++, RTOS)", "Embedded Software Engineer"),
    ("Data Engineer @ Fintech Startup", "Data Engineer"),
    ("Recruitment Consultant | Manchester | £28k + Commission", "Recruitment Consultant"),
    ("Cabin Crew \u2013 Short Haul \u2014 Seasonal", "Cabin Crew"),  # en and em dashes
    ("Java Developer [Remote]", "Java Developer"),
    # pay
    ("Kitchen Porter £11.44/hr", "Kitchen Porter"),
    ("CDL-A OTR Truck Driver $0.65/mile", "CDL-A OTR Truck Driver"),
    ("Account Executive $80,000 - $95,000 + Commission", "Account Executive"),
    ("Store Manager £32k + Bonus", "Store Manager"),
    ("Housekeeping Supervisor 4* Hotel", "Housekeeping Supervisor Hotel"),
    # contract and shift words
    ("Part-Time Bookkeeper", "Bookkeeper"),
    ("Temp Receptionist", "Receptionist"),
    ("Care Assistant Nights", "Care Assistant"),
    ("Registered Nurse for our Care Home in Leeds", "Registered Nurse"),  # the employer's phrase
    ("Teacher for the Deaf", "Teacher for the Deaf"),  # no possessive: the job
    ("Scrum Master Contract", "Scrum Master"),
    ("Cashier - Evenings & Weekends", "Cashier"),
    ("Sales Assistant / Part Time", "Sales Assistant"),
    ("Accounts Payable Clerk - Temp to Perm", "Accounts Payable Clerk"),
    # words that also start real titles stay there
    ("Contract Manager", "Contract Manager"),
    ("Remote Sensing Analyst - Remote", "Remote Sensing Analyst"),
    ("Night Auditor - Hotel", "Night Auditor"),
    # seniority
    ("Jr. Python Developer", "Python Developer"),
    ("Sr Java Developer", "Java Developer"),
    ("Lead Data Engineer (GCP)", "Data Engineer"),
    ("Principal Software Engineer", "Software Engineer"),
    ("Trainee Train Driver", "Train Driver"),
    ("Software Engineer III", "Software Engineer"),
    ("Head of Marketing", "Marketing manager"),
    ("Senior Head of HR - £70k", "HR manager"),
    # what is not noise stays
    ("Carpenter / Joiner - CSCS", "Carpenter / Joiner"),
    ("C++ Developer", "C++ Developer"),
    ("Team Lead - Warehouse", "Team Lead"),
    ("Head Chef", "Head Chef"),
]

CASES_DE = [
    ("Pflegefachkraft (m/w/d)", "Pflegefachkraft"),
    ("Pflegefachkraft (w/m/d) Intensivstation", "Pflegefachkraft Intensivstation"),
    ("Physiotherapeut (d/m/w) - ambulante Praxis", "Physiotherapeut"),
    ("Verkäufer m/w/d Teilzeit", "Verkäufer"),
    ("Erzieher/in für unsere Kita | Leipzig | Vollzeit", "Erzieher"),
    ("Pflegefachkraft (m/w/d) für unsere Seniorenresidenz", "Pflegefachkraft"),  # the employer's phrase
    ("Verkäufer für unseren Markt in Köln", "Verkäufer"),
    ("Elektroniker für Betriebstechnik (m/w/d)", "Elektroniker für Betriebstechnik"),  # no possessive: the job
    ("Lehrkraft für die Sekundarstufe", "Lehrkraft für die Sekundarstufe"),
    ("Personalreferent/-in", "Personalreferent"),
    ("Sozialarbeiter:in Jugendamt", "Sozialarbeiter Jugendamt"),
    ("Buchhalter*in in Teilzeit (20-30 Std.)", "Buchhalter"),
    ("Lehrer_innen Grundschule", "Lehrer Grundschule"),
    ("Kaufmann/-frau für Büromanagement (m/w/d)", "Kaufmann für Büromanagement"),
    ("Auszubildende/r Bankkaufmann", "Bankkaufmann"),
    ("Koch / Köchin (m/w/d) à la carte", "Koch / Köchin à la carte"),
    ("Lagerhelfer (m/w/d) ab sofort - Dortmund - 13,50 €/h", "Lagerhelfer"),
    ("Berufskraftfahrer (m/w/d) - 3.200 € brutto - Nahverkehr", "Berufskraftfahrer"),
    ("Mitarbeiter Kundenservice bis 60.000 €", "Mitarbeiter Kundenservice"),
    ("Servicekraft Restaurant - 14 €/Std.", "Servicekraft Restaurant"),
    ("Maurer (m/w/d) ab sofort gesucht", "Maurer"),
    ("Küchenhilfe (m/w/d) auf Minijob-Basis", "Küchenhilfe"),
    ("Immobilienmakler (m/w/d) auf Provisionsbasis", "Immobilienmakler"),
    ("Kommissionierer (m/w/d) 3-Schicht-System", "Kommissionierer"),
    ("Taxifahrer (m/w/d) Nachtschicht", "Taxifahrer"),
    ("Busfahrer (m/w/d) Führerschein Klasse D - befristet", "Busfahrer Führerschein Klasse D"),
    ("Werkstudent Data Analytics (m/w/d)", "Data Analytics"),
    ("Praktikant Marketing (m/w/d)", "Marketing"),
    ("Ausbildung zum Koch (m/w/d)", "Koch"),
    ("Senior-Softwareentwickler (m/w/d)", "Softwareentwickler"),
    ("Senior Software Engineer (m/w/d) Backend", "Software Engineer Backend"),
    ("Cloud Engineer (all genders) Azure", "Cloud Engineer Azure"),
    ("Gesundheits- und Krankenpfleger (m/w/d)", "Gesundheits- und Krankenpfleger"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES_EN)
def test_english_job_ad_noise_is_removed(raw: str, expected: str) -> None:
    assert clean_job_title(raw, "en") == expected


@pytest.mark.parametrize(("raw", "expected"), CASES_DE)
def test_german_job_ad_noise_is_removed(raw: str, expected: str) -> None:
    assert clean_job_title(raw, "de") == expected


@pytest.mark.parametrize(("raw", "expected"), [*CASES_EN, *CASES_DE])
def test_an_unknown_language_gets_both_rule_sets(raw: str, expected: str) -> None:
    assert clean_job_title(raw) == expected
    assert clean_job_title(raw, "") == expected  # an unset language field


def test_german_suffix_rules_stay_off_for_english() -> None:
    assert clean_job_title("Check/in Agent", "en") == "Check/in Agent"
    assert clean_job_title("Check/in Agent", "de") == "Check Agent"
    assert clean_job_title("Verkäufer/in Teilzeit", "en") == "Verkäufer/in Teilzeit"
    assert clean_job_title("Verkäufer/in Teilzeit", "de-AT") == "Verkäufer"


@pytest.mark.parametrize(
    "raw", ["(m/w/d)", "Senior", "Vollzeit", "Part-Time - Nights", "(Senior Nurse)", "Nights - £14.50/hr"]
)
def test_input_that_is_only_noise_cleans_to_nothing(raw: str) -> None:
    assert clean_job_title(f"  {raw}  ") == ""


def test_whitespace_is_collapsed_everywhere() -> None:
    assert clean_job_title("  Data \t Scientist \n (m/w/d)  ") == "Data Scientist"
    assert clean_job_title("\u00a0Senior\u00a0Nurse\u00a0") == "Nurse"


@pytest.mark.parametrize("raw", ["", "   ", "---", "(-)", "£50,000", "42", "| / -"])
def test_input_without_letters_cleans_to_nothing(raw: str) -> None:
    assert clean_job_title(raw) == ""
    assert not has_letters(raw)


@pytest.mark.parametrize(("text", "expected"), [("Nurse", True), ("Ärztin", True), ("看护", True), ("-- 42 --", False)])
def test_has_letters_counts_letters_of_any_script(text: str, expected: bool) -> None:
    assert has_letters(text) is expected


@pytest.mark.parametrize(
    "raw",
    [
        "Senior Software Engineer (m/w/d) - Berlin - £50k " * 5000,
        "(" * 50_000 + "Nurse" + ")" * 50_000,
        " - " * 30_000 + "Nurse",
        "Senior " * 20_000 + "Nurse",
        "1" * 100_000,
    ],
)
def test_very_long_input_is_cleaned(raw: str) -> None:
    # Every rule is linear; a quadratic one would run into pytest's timeout on these inputs.
    cleaned = clean_job_title(raw)
    assert has_letters(cleaned) <= has_letters(raw)  # letters only where the input had some
    assert len(cleaned) <= len(raw)


def test_a_long_title_keeps_its_first_part() -> None:
    raw = "Senior Software Engineer (m/w/d) - " + " - ".join(f"Berlin {i}" for i in range(2000))
    assert clean_job_title(raw) == "Software Engineer"


NAMED = [
    ("Lokführer (m/w/d) Güterverkehr", "Lokführer"),
    ("Filialleiter (m/w/d) Lebensmitteleinzelhandel - Vollzeit", "Filialleiter"),
    ("Senior Software Engineer (m/f/d) Backend", "Software Engineer"),  # the name is cleaned too
    ("Koch m/w/d Kantine", "Koch"),  # a bare marker
    ("Erzieher/in (m/w/d) Krippe", "Erzieher"),
    ("Lokführer (m/w/d) - Vollzeit", ""),  # only noise follows: the cleaned title is the name
    ("Lokführer (m/w/d)", ""),  # nothing follows
    ("Lokführer Güterverkehr", ""),  # no marker
    ("(m/w/d) Koch", ""),  # nothing named before the marker
    ("Senior (m/w/d) Backend", ""),
]


@pytest.mark.parametrize(("raw", "expected"), NAMED)
def test_the_job_named_before_a_gender_marker_that_a_qualifier_follows(raw: str, expected: str) -> None:
    assert named_title(raw, "de") == expected
