"""The scale-out benchmark runs what its section of docs/performance.md says it runs."""

from bench.scale_out import RUNS
from tests.faults.harness import SCENARIOS


def test_it_books_through_two_web_servers_and_sends_with_two_dispatchers_and_two_workers():
    load, faults = RUNS

    assert load == ("bench.load_booking", "--servers", "2")
    assert faults[:2] == ("bench.faults", "--only")
    parallel = next(scenario for scenario in SCENARIOS if scenario.slug == faults[2])
    assert parallel.name == "two dispatchers, two workers"
