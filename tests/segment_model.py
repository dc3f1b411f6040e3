"""A set model of segments for property tests: random properties and saved cohorts (a
"world"), and random segment expressions built together with the users they denote, so
that the text and the expected set cannot disagree."""

from __future__ import annotations

from hypothesis import strategies as st

from flask_bitmapist.domain import Bitmap, BitmapRepository
from flask_bitmapist.services.segments import save_cohort, write_properties

PLANS = ("free", "pro", "team")
CHANNELS = ("ads", "seo")
COHORTS = ("beta", "vip", "and")  # "and" must be quoted in a segment

#: property -> user -> value, and saved cohort -> users.
World = tuple[dict[str, dict[int, str]], dict[str, frozenset[int]]]
#: A segment's text and its users.
Built = tuple[str, frozenset[int]]


@st.composite
def worlds(draw: st.DrawFn, max_user: int = 60) -> World:
    """Users 0..max_user with a plan (some with a channel), and one to three cohorts."""
    users = st.integers(0, max_user)
    plans = draw(st.dictionaries(users, st.sampled_from(PLANS), min_size=1))
    channels = draw(st.dictionaries(users, st.sampled_from(CHANNELS)))
    cohorts = draw(st.dictionaries(st.sampled_from(COHORTS), st.frozensets(users), min_size=1))
    return {"plan": plans, "channel": channels}, cohorts


def store(repository: BitmapRepository, world: World) -> None:
    """Write ``world`` into ``repository``."""
    properties, cohorts = world
    write_properties(
        repository,
        [(u, name, v) for name, holders in properties.items() for u, v in holders.items()],
        max_user_id=2**32 - 1,
    )
    for name, members in cohorts.items():
        save_cohort(repository, name, Bitmap.from_ids(members))


def leaves(world: World) -> list[Built]:
    """Every term ``world`` holds: each property value and each saved cohort."""
    properties, cohorts = world
    found: list[Built] = []
    for name, holders in properties.items():
        for value in sorted(set(holders.values())):
            found.append(
                (f"{name}={value}", frozenset(u for u, v in holders.items() if v == value))
            )
    for name, members in cohorts.items():
        found.append((f'"{name}"' if name == "and" else name, members))
    return found


def segments(world: World) -> st.SearchStrategy[Built]:
    """Segments over ``world``'s terms with &, | and & ~, nested."""

    def extend(inner: st.SearchStrategy[Built]) -> st.SearchStrategy[Built]:
        def both(op: str) -> st.SearchStrategy[Built]:
            return st.tuples(inner, inner).map(
                lambda pair: (
                    f"({pair[0][0]} {op} {pair[1][0]})",
                    {
                        "&": pair[0][1] & pair[1][1],
                        "|": pair[0][1] | pair[1][1],
                        "& ~": pair[0][1] - pair[1][1],
                    }[op],
                )
            )

        return st.one_of(both("&"), both("|"), both("& ~"))

    return st.recursive(st.sampled_from(leaves(world)), extend, max_leaves=6)
