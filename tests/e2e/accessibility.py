"""axe-core (shipped by axe-playwright-python) run on the page a journey is looking at."""

from axe_playwright_python.sync_playwright import Axe

# The impacts that fail a page; "minor" and "moderate" findings are reported by axe only.
FAILING_IMPACTS = ("serious", "critical")

_axe = Axe()


def violations(page) -> list[dict]:
    """axe's serious and critical violations on the current page."""
    results = _axe.run(page, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    """Fail listing every serious or critical axe violation on the current page."""
    found = violations(page)
    assert not found, (
        f"{len(found)} serious or critical accessibility violation(s) on {page.url}:\n"
        + describe(found)
    )
