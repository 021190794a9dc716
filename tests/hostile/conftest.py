"""Figures of the hostile-input run, printed after the tests: what was tried and what came back."""

from collections import Counter, defaultdict

import pytest

# Generated cases per operation and identity, besides the schema's own examples and
# schemathesis' coverage cases (boundaries, missing and wrong-typed fields).
FUZZ_EXAMPLES_PER_OPERATION = 25
# operation label -> identity -> status codes answered, filled by the fuzz tests.
FUZZ_RESPONSES: defaultdict[str, defaultdict[str, Counter[int]]] = defaultdict(
    lambda: defaultdict(Counter)
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FUZZ_RESPONSES:
        return
    write = terminalreporter.write_line
    statuses: Counter[int] = Counter()
    for by_identity in FUZZ_RESPONSES.values():
        for answered in by_identity.values():
            statuses.update(answered)
    identities = sorted({who for by_identity in FUZZ_RESPONSES.values() for who in by_identity})
    terminalreporter.section("schema fuzz (schemathesis)")
    write(f"operations fuzzed: {len(FUZZ_RESPONSES)}, as {' and '.join(identities)}")
    write(f"generated examples per operation and identity: {FUZZ_EXAMPLES_PER_OPERATION}")
    write(f"requests: {statuses.total()}")
    write("statuses: " + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())))
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    write(f"5xx responses: {server_errors}")
    for label in sorted(FUZZ_RESPONSES):
        write(f"  {label}")
        for who in identities:
            answered = FUZZ_RESPONSES[label][who]
            codes = " ".join(f"{code}x{n}" for code, n in sorted(answered.items()))
            write(f"    {who:<9} {answered.total():>4} requests: {codes}")
