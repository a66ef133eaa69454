"""The steering benchmark's table adds each answer kind up over the voices."""

from __future__ import annotations

from callcenter.bench.steering import DATES, PRIMERS, YES_NO, table
from callcenter.text.dates import parse_date
from callcenter.text.yes_no import yes_or_no


def test_the_table_sums_each_kind_and_mode_over_the_voices() -> None:
    def row(right: int) -> dict[str, object]:
        return {"right": right, "of": 10, "misses": []}

    report = {
        "results": {
            "us/yes_no/plain": row(9),
            "rp/yes_no/plain": row(10),
            "us/yes_no/primed": row(8),
            "rp/yes_no/primed": row(7),
            "us/date/plain": row(5),
            "rp/date/plain": row(6),
            "us/date/primed": row(3),
            "rp/date/primed": row(4),
        }
    }
    assert table(report).splitlines()[2:] == [
        "| yes_no | 19 / 20 | 15 / 20 |",
        "| date | 11 / 20 | 7 / 20 |",
    ]


def test_the_lines_are_read_right_by_the_flow_parsers_when_heard_right() -> None:
    # A miss in the benchmark is the recogniser's, never the parser's.
    assert all(yes_or_no(said) == expected for said, expected in YES_NO)
    assert all(parse_date(said) == expected for said, expected in DATES)
    assert set(PRIMERS) == {"yes_no", "date"}
