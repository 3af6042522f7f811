"""Azure VM names are held one per instance: same-named instances get distinct, stable names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.state.names import ClaimedName, MemoryNames, candidates

A, B, C = "i-0aaaaaaaa11111111", "i-0bbbbbbbb22222222", "i-0ccccccc33333333"


def test_the_first_keeps_the_name_and_the_next_get_a_suffix_from_their_ids():
    names = MemoryNames()
    assert names.claim(A, "web") == ClaimedName("web")
    assert names.claim(B, "web") == ClaimedName("web-22222222", taken_by=A)
    assert names.claim(C, "WEB") == ClaimedName("WEB-33333333", taken_by=A)  # Azure ignores case


def test_a_claim_is_stable_when_asked_again():
    names = MemoryNames()
    names.claim(A, "web")
    first = names.claim(B, "web")
    assert names.claim(B, "web") == first and names.claim(A, "web") == ClaimedName("web")


def test_a_suffix_someone_holds_falls_back_to_the_whole_id():
    names = MemoryNames()
    names.claim(A, "web")
    names.claim(C, "web-22222222")  # a Name tag that happens to be B's suffixed name
    assert names.claim(B, "web") == ClaimedName("web-0bbbbbbbb22222222", taken_by=A)


def test_long_names_stay_within_azures_63_characters():
    for name in candidates(A, "x" * 63):
        assert len(name) <= 63 and name[-1] != "-"


def test_concurrent_claims_of_one_name_give_distinct_names():
    names = MemoryNames()
    ids = [f"i-0{n:016x}" for n in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        claimed = list(pool.map(lambda i: names.claim(i, "db"), ids))
    assert len({c.name for c in claimed}) == len(ids)
    assert sum(c.name == "db" for c in claimed) == 1
