"""`make bench` rewrites only the figures' blocks of docs/performance.md."""

import pytest

from bench.run_all import replace_block

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
