"""Demo data for the 潮南区 elderly accident scheme: synthetic residents and service outlets."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import pytest

from backoffice.demo.outlets import (
    OUTLET_KINDS,
    SERVICE_NAMES,
    OutletDataError,
    format_opening_hours,
    load_outlets,
    outlets_in_town,
    outlets_offering,
    validate_outlet,
)
from backoffice.demo.people import (
    ADDRESS_PREFIX,
    AREA_CODE,
    TOWNS,
    Person,
    generate_people,
    generate_people_turning,
)
from backoffice.domain.identity import (
    age_on,
    check_id_consistency,
    make_id_number,
    parse_id_number,
    parse_phone,
)

AS_OF = date(2025, 7, 1)
SEED = 20250701


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(generate_people(50_000, SEED, AS_OF))


@pytest.fixture(scope="module")
def turning() -> list[Person]:
    return list(generate_people_turning(1_000, SEED, AS_OF))


# --- generate_people -------------------------------------------------------------------------


def test_same_seed_gives_the_same_people() -> None:
    assert list(generate_people(2_000, 7, AS_OF)) == list(generate_people(2_000, 7, AS_OF))


def test_different_seed_gives_different_people() -> None:
    first = list(generate_people(200, 7, AS_OF))
    second = list(generate_people(200, 8, AS_OF))
    assert first != second
    assert {p.id_number for p in first} != {p.id_number for p in second}


def test_the_first_people_do_not_depend_on_n() -> None:
    short = list(generate_people(300, 11, AS_OF))
    long = list(generate_people(5_000, 11, AS_OF))
    assert long[:300] == short
    assert list(itertools.islice(generate_people(100_000, 11, AS_OF), 300)) == short


def test_output_is_pinned_for_a_known_seed() -> None:
    # Demo data is referred to by ID in fixtures and walkthroughs: a change to the tables or to
    # the order of draws must be deliberate (update this expectation with it).
    assert next(generate_people(1, 1, date(2025, 1, 1))) == Person(
        name="杨瑞娥",
        gender="female",
        birth_date=date(1956, 5, 6),
        id_number="440514195605061165",
        phone="18237972628",
        address="广东省汕头市潮南区雷岭镇茶园村新厝三巷1号",
        occupation="务农",
        occupation_class=2,
    )
    assert next(generate_people_turning(1, 1, date(2025, 1, 1))).id_number == "440514196501119304"


def test_generates_exactly_n_people() -> None:
    assert len(list(generate_people(1_234, 1, AS_OF))) == 1_234
    assert list(generate_people(0, 1, AS_OF)) == []


def test_every_id_number_is_valid_and_agrees_with_birth_date_and_gender(
    people: list[Person],
) -> None:
    for person in people:
        parsed = parse_id_number(person.id_number)
        check_id_consistency(parsed, person.birth_date, person.gender)
        assert parsed.area_code == AREA_CODE == "440514"
    for person in people[:5_000]:
        assert person.id_number == make_id_number(
            AREA_CODE, person.birth_date, int(person.id_number[14:17])
        )


def test_sequences_are_odd_for_men_even_for_women_and_below_900(people: list[Person]) -> None:
    for person in people:
        sequence = int(person.id_number[14:17])
        assert 0 < sequence < 900
        assert sequence % 2 == (1 if person.gender == "male" else 0)


def test_id_numbers_are_unique_over_50000(people: list[Person]) -> None:
    assert len({p.id_number for p in people}) == len(people) == 50_000


def test_id_numbers_are_unique_when_a_short_age_range_is_crowded() -> None:
    crowded = list(generate_people(20_000, 3, AS_OF, min_age=100, max_age=100))
    assert len({p.id_number for p in crowded}) == 20_000
    assert all(age_on(p.birth_date, AS_OF) == 100 for p in crowded)


def test_ages_are_within_60_to_100_on_as_of(people: list[Person]) -> None:
    ages = [age_on(p.birth_date, AS_OF) for p in people]
    assert min(ages) >= 60
    assert max(ages) <= 100


def test_custom_age_range_is_respected() -> None:
    ages = {age_on(p.birth_date, AS_OF) for p in generate_people(3_000, 5, AS_OF, 70, 72)}
    assert ages == {70, 71, 72}


def test_ages_are_skewed_towards_the_young_old(people: list[Person]) -> None:
    ages = Counter(age_on(p.birth_date, AS_OF) for p in people)
    sixty_to_seventy_four = sum(n for age, n in ages.items() if age < 75)
    ninety_plus = sum(n for age, n in ages.items() if age >= 90)
    assert sixty_to_seventy_four > 0.5 * len(people)
    assert 0 < ninety_plus < 0.1 * len(people)
    assert sixty_to_seventy_four > 10 * ninety_plus


def test_women_outnumber_men_and_more_so_at_high_ages(people: list[Person]) -> None:
    genders = Counter(p.gender for p in people)
    assert set(genders) == {"male", "female"}
    assert genders["female"] > genders["male"]
    old = Counter(p.gender for p in people if age_on(p.birth_date, AS_OF) >= 85)
    assert old["female"] > 1.3 * old["male"]


def test_phones_are_valid_mobiles(people: list[Person]) -> None:
    for person in people:
        assert parse_phone(person.phone) == person.phone
        assert len(person.phone) == 11
        assert person.phone[:2] in {"13", "14", "15", "16", "17", "18", "19"}


def test_addresses_are_in_a_town_of_chaonan(people: list[Person]) -> None:
    towns = Counter()
    for person in people:
        assert person.address.startswith(ADDRESS_PREFIX)
        assert "潮南区" in person.address
        town = next(t for t in TOWNS if person.address.startswith(ADDRESS_PREFIX + t))
        towns[town] += 1
        assert person.address.endswith("号")
    assert set(towns) == set(TOWNS)
    assert towns.most_common(1)[0][0] == "峡山街道"


def test_names_are_chinese_and_gender_appropriate(people: list[Person]) -> None:
    surnames = Counter(p.name[0] for p in people)
    assert surnames.most_common(1)[0][0] == "陈"
    assert {"林", "黄", "郑", "蔡", "许", "翁"} <= set(surnames)
    for person in people:
        assert 2 <= len(person.name) <= 3
        assert all("\u4e00" <= ch <= "\u9fff" for ch in person.name)
    male_given = {p.name[1:] for p in people if p.gender == "male"}
    female_given = {p.name[1:] for p in people if p.gender == "female"}
    assert {"秀英", "桂英", "玉珍"} <= female_given
    assert {"建国", "振华", "锦泉"} <= male_given
    assert "秀英" not in male_given and "建国" not in female_given


def test_occupations_are_mostly_light_classes(people: list[Person]) -> None:
    classes = Counter(p.occupation_class for p in people)
    assert set(classes) <= {1, 2, 3}
    assert classes[3] < 0.1 * len(people)
    occupations = Counter(p.occupation for p in people)
    main = occupations["退休"] + occupations["务农"] + occupations["家务"]
    assert main > 0.7 * len(people)


def test_persons_are_frozen(people: list[Person]) -> None:
    person = people[0]
    with pytest.raises(AttributeError):
        person.name = "某某"  # type: ignore[misc]
    assert person == Person(
        person.name,
        person.gender,
        person.birth_date,
        person.id_number,
        person.phone,
        person.address,
        person.occupation,
        person.occupation_class,
    )
    assert hash(person) == hash(people[0])


def test_nobody_below_retirement_age_is_retired() -> None:
    younger = list(generate_people(2_000, 2, AS_OF, min_age=35, max_age=49))
    assert not [p for p in younger if p.occupation == "退休"]
    assert {age_on(p.birth_date, AS_OF) for p in younger} <= set(range(35, 50))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": -1},
        {"min_age": 80, "max_age": 70},
        {"min_age": 60, "max_age": 60, "n": 1_000_000},
    ],
)
def test_invalid_arguments_are_refused_at_once(kwargs: dict[str, int]) -> None:
    args = {"n": 10, "seed": 1, "as_of": AS_OF} | kwargs
    with pytest.raises(ValueError):
        generate_people(**args)


# --- generate_people_turning -----------------------------------------------------------------


def test_turning_people_are_59_and_turn_60_within_the_window(turning: list[Person]) -> None:
    window_end = date(2025, 10, 1)  # three months after AS_OF
    assert len(turning) == 1_000
    for person in turning:
        assert age_on(person.birth_date, AS_OF) == 59
        assert age_on(person.birth_date, window_end) >= 60
        sixtieth = person.birth_date.replace(year=person.birth_date.year + 60)
        assert AS_OF < sixtieth <= window_end


def test_turning_window_follows_months_ahead() -> None:
    one_month = list(generate_people_turning(500, 1, AS_OF, months_ahead=1))
    for person in one_month:
        assert age_on(person.birth_date, AS_OF) == 59
        assert age_on(person.birth_date, date(2025, 8, 1)) == 60


def test_turning_people_have_valid_ids_in_the_reserved_range(turning: list[Person]) -> None:
    for person in turning:
        parsed = parse_id_number(person.id_number)
        check_id_consistency(parsed, person.birth_date, person.gender)
        assert parsed.area_code == AREA_CODE
        assert 900 <= int(person.id_number[14:17]) <= 999
        assert parse_phone(person.phone) == person.phone
        assert "潮南区" in person.address
    assert len({p.id_number for p in turning}) == len(turning)


def test_turning_ids_never_collide_with_generate_people(
    people: list[Person], turning: list[Person]
) -> None:
    assert not {p.id_number for p in people} & {p.id_number for p in turning}
    # Even for the birth dates both generate, e.g. age 60 in the main roster near the boundary.
    roster_60 = list(generate_people(5_000, SEED, AS_OF, min_age=59, max_age=60))
    assert not {p.id_number for p in roster_60} & {p.id_number for p in turning}


def test_turning_is_deterministic_and_not_a_copy_of_the_main_stream(
    turning: list[Person],
) -> None:
    assert list(generate_people_turning(1_000, SEED, AS_OF)) == turning
    assert list(generate_people_turning(10, SEED, AS_OF)) == turning[:10]
    main = list(generate_people(10, SEED, AS_OF))
    assert [p.name for p in main] != [p.name for p in turning[:10]]


def test_turning_men_are_not_yet_retired(turning: list[Person]) -> None:
    assert not [p for p in turning if p.gender == "male" and p.occupation == "退休"]


def test_turning_at_a_month_end_clamps_the_window() -> None:
    as_of = date(2025, 11, 30)
    window_end = date(2026, 2, 28)
    births = {p.birth_date for p in generate_people_turning(2_000, 4, as_of)}
    assert min(births) == date(1965, 12, 1)
    assert max(births) == date(1966, 2, 28)
    assert all(age_on(b, as_of) == 59 and age_on(b, window_end) == 60 for b in births)


def test_every_id_of_a_window_can_be_handed_out_once() -> None:
    # 1 month after 2025-07-01: 31 birth days × 100 reserved sequences (50 per gender).
    everyone = list(generate_people_turning(3_100, 9, AS_OF, months_ahead=1))
    assert len({p.id_number for p in everyone}) == 3_100
    assert Counter(p.gender for p in everyone) == {"male": 1_550, "female": 1_550}
    with pytest.raises(ValueError):
        generate_people_turning(3_101, 9, AS_OF, months_ahead=1)


def test_turning_refuses_an_empty_window() -> None:
    with pytest.raises(ValueError):
        generate_people_turning(10, 1, AS_OF, months_ahead=0)


# --- service outlets -------------------------------------------------------------------------


def test_outlets_load_and_cover_every_town() -> None:
    outlets = load_outlets()
    assert len(outlets) >= 12
    assert {o["town"] for o in outlets} == set(TOWNS)
    assert len({o["code"] for o in outlets}) == len(outlets)
    for town in TOWNS:
        assert outlets_in_town(town)


def test_there_is_a_district_service_center_in_xiashan() -> None:
    centers = [o for o in load_outlets() if o["kind"] == "district_service_center"]
    assert [c["town"] for c in centers] == ["峡山街道"]
    assert set(centers[0]["services"]) == set(SERVICE_NAMES)


def test_outlet_fields_are_well_formed() -> None:
    for outlet in load_outlets():
        assert outlet["kind"] in OUTLET_KINDS
        assert set(outlet["services"]) <= set(SERVICE_NAMES)
        assert "潮南区" in outlet["address"] and outlet["town"] in outlet["address"]
        assert outlet["phone"].startswith("0754-")
        assert parse_phone(outlet["phone"]) == outlet["phone"]
        assert set(outlet["opening_hours"]) == {"weekdays", "saturday", "sunday"}
        assert outlet["opening_hours_text"] == format_opening_hours(outlet["opening_hours"])
        assert 23.05 <= outlet["latitude"] <= 23.40
        assert 116.10 <= outlet["longitude"] <= 116.65


def test_service_names_are_chinese() -> None:
    assert set(SERVICE_NAMES) == {
        "claim_report",
        "claim_documents",
        "policy_service",
        "premium_payment",
        "complaint",
        "home_visit_booking",
        "consultation",
    }
    assert SERVICE_NAMES["claim_report"] == "报案"
    assert outlets_offering("claim_report")
    with pytest.raises(ValueError):
        outlets_offering("teleportation")


def test_opening_hours_text() -> None:
    assert (
        format_opening_hours({"weekdays": "08:30-17:30", "saturday": "09:00-12:00", "sunday": None})
        == "周一至周五 08:30-17:30，周六 09:00-12:00"
    )
    assert (
        format_opening_hours(
            {"weekdays": "08:30-17:30", "saturday": "09:00-12:00", "sunday": "09:00-12:00"}
        )
        == "周一至周五 08:30-17:30，周六、周日 09:00-12:00"
    )


def test_load_outlets_returns_a_fresh_list() -> None:
    first = load_outlets()
    first[0]["name"] = "changed"
    assert load_outlets()[0]["name"] != "changed"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"services": ["claim_report", "teleportation"]}, "services"),
        ({"town": "龙湖区"}, "town"),
        ({"phone": "13800138000"}, "phone"),
        ({"opening_hours": {"weekdays": "8:30-17:30", "saturday": None, "sunday": None}},
         "opening_hours.weekdays"),
        ({"opening_hours_text": "周一至周日 全天"}, "opening_hours_text"),
        ({"latitude": 39.9}, "latitude"),
        ({"kind": "head_office"}, "kind"),
    ],
)
def test_malformed_outlets_are_refused(change: dict[str, object], field: str) -> None:
    outlet = load_outlets()[0] | change
    with pytest.raises(OutletDataError, match=field):
        validate_outlet(outlet)


def test_an_outlet_missing_a_key_is_refused() -> None:
    outlet = load_outlets()[0]
    del outlet["opening_hours"]
    with pytest.raises(OutletDataError, match="opening_hours"):
        validate_outlet(outlet)
