"""Validate docker-compose.yml against the Compose Specification's JSON schema.

`make lint` runs `python -m tests.config.compose_spec docker-compose.yml`, and
tests/config/test_deployment.py calls `problems()`: a misspelt key, a wrong type or a
service option that does not exist fails there, not on the deployer's `docker compose up`.

compose-spec.json beside this file is a copy of schema/compose-spec.json from
github.com/compose-spec/compose-go (the reference the Compose CLI validates with; Apache
License 2.0), at commit e70e961c3a3acebf0800b882f1afb3dbf1fb74a2 (July 2026). Replace it
with a newer copy to follow the specification.
"""

import json
import sys
from pathlib import Path

import jsonschema
import yaml

SCHEMA = Path(__file__).with_name("compose-spec.json")


def problems(compose_file: Path) -> list[str]:
    """Each place where `compose_file` breaks the specification, as `where: what`."""
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    document = yaml.safe_load(compose_file.read_text())
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(
            validator.iter_errors(document), key=lambda e: [str(part) for part in e.path]
        )
    ]


def main(paths: list[str]) -> int:
    found = [f"{path}: {problem}" for path in paths for problem in problems(Path(path))]
    print("\n".join(found) or f"{', '.join(paths)}: valid against the Compose Specification")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["docker-compose.yml"]))
