"""Grouping rules: thresholds, the dHash second opinion, keepers, roles, conflicts."""

from __future__ import annotations

from curation.grouping import Member, find_groups

BASE_P, BASE_D = 0x0F0F_0F0F_0F0F_0F0F, 0x3333_3333_3333_3333


def _flip(value: int, bits: int, offset: int = 0) -> int:
    return value ^ sum(1 << (offset + i) for i in range(bits))


def member(
    path: str,
    p_bits: int = 0,
    d_bits: int = 0,
    *,
    label: str = "happy",
    sha: str | None = None,
    size: tuple[int, int] = (100, 100),
    flag: str | None = None,
) -> Member:
    p, d = _flip(BASE_P, p_bits), _flip(BASE_D, d_bits, 20)
    signed = [v - (1 << 64) if v >= 1 << 63 else v for v in (p, d)]
    return Member(
        path,
        label,
        sha or path,
        size[0],
        size[1],
        size[0] * size[1],
        flag,
        (signed[0], signed[0]),
        (signed[1], signed[1]),
    )


def _sets(groups) -> list[set[str]]:
    return [set(g.members) for g in groups]


def test_sure_distance_groups_without_a_second_opinion():
    assert _sets(find_groups([member("a"), member("b", p_bits=3, d_bits=40)])) == [{"a", "b"}]


def test_borderline_distance_needs_dhash_to_agree():
    pair_agree = [member("a"), member("b", p_bits=7, d_bits=5)]
    pair_disagree = [member("a"), member("b", p_bits=7, d_bits=30)]
    assert _sets(find_groups(pair_agree)) == [{"a", "b"}]
    assert find_groups(pair_disagree) == []


def test_threshold_bounds_the_distance():
    pair = [member("a"), member("b", p_bits=3)]
    assert find_groups(pair, threshold=2, sure=2) == []
    assert find_groups([member("a"), member("c", p_bits=12)]) == []


def test_groups_are_transitive_and_exact_copies_join_by_sha():
    chain = [
        member("a"),
        member("b", p_bits=3),
        member("c", p_bits=6, d_bits=0),
        member("far", p_bits=40, d_bits=40, sha="same"),
        member("far-copy", p_bits=40, d_bits=40, sha="same"),
    ]
    assert sorted(map(sorted, _sets(find_groups(chain)))) == [["a", "b", "c"], ["far", "far-copy"]]


def test_keeper_is_unflagged_then_largest_and_roles_follow():
    group = find_groups(
        [
            member("small", size=(50, 50)),
            member("big", size=(400, 300), flag="animated"),
            member("mid", size=(200, 150)),
            member("mid-copy", size=(200, 150), sha="mid"),
        ]
    )[0]
    assert group.keeper in ("mid", "mid-copy")
    copy = "mid" if group.keeper == "mid-copy" else "mid-copy"
    assert group.roles == {
        group.keeper: "keeper",
        copy: "duplicate",
        "small": "near_duplicate",
        "big": "near_duplicate",
    }


def test_different_labels_make_a_conflict():
    groups = find_groups([member("a"), member("b", p_bits=1, label="sad")])
    assert groups[0].conflict and groups[0].labels == ["happy", "sad"]


def test_nothing_or_one_image_makes_no_groups():
    assert find_groups([]) == []
    assert find_groups([member("alone")]) == []
