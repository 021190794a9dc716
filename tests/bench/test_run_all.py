"""`make bench` rewrites only the figures' blocks of docs/performance.md."""

import pytest

from bench.run_all import BENCHMARKS, PERFORMANCE_DOC, ROOT, replace_block

DOCUMENT = """# Performance

Written analysis.

<!-- bench:demo -->
```text
old figures
```
<!-- /bench:demo -->

<!-- bench:other -->
<!-- /bench:other -->

More analysis.
"""


def test_a_block_gets_the_new_figures_and_the_text_around_it_stays():
    updated = replace_block(DOCUMENT, "demo", "```text\nnew figures\n```\n")

    assert "new figures" in updated
    assert "old figures" not in updated
    assert updated.replace("new figures", "old figures") == DOCUMENT


def test_an_empty_block_is_filled():
    updated = replace_block(DOCUMENT, "other", "figures")

    assert "<!-- bench:other -->\nfigures\n<!-- /bench:other -->" in updated


def test_a_benchmark_without_its_block_is_reported_not_silently_skipped():
    with pytest.raises(KeyError, match="bench:missing"):
        replace_block(DOCUMENT, "missing", "figures")


def test_every_benchmark_has_its_block_in_the_performance_document():
    document = PERFORMANCE_DOC.read_text()

    for benchmark in BENCHMARKS:
        assert f"<!-- bench:{benchmark.block} -->" in document, benchmark.block
        assert f"<!-- /bench:{benchmark.block} -->" in document, benchmark.block


def test_make_bench_runs_every_benchmark_under_bench():
    benchmarks = {
        f"bench.{path.stem}"
        for path in (ROOT / "bench").glob("*.py")
        if "def main(" in path.read_text() and path.stem != "run_all"
    }

    assert benchmarks == {benchmark.module for benchmark in BENCHMARKS}
