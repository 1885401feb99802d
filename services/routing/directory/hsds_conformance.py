#!/usr/bin/env python3
"""Checks a provider directory (deploy/directory/providers.json) against the HSDS 3 JSON schemas.

A developer tool, not part of `make test`: the schemas are not in this repository. Get them from
https://github.com/openreferral/specification (the 3.1 schemas, which define service_capacity
and unit, are on the 3.1-dev branch) and pass their schema/ directory:

    python3 services/routing/directory/hsds_conformance.py <specification>/schema \
        deploy/directory/providers.json

Each object of each top-level array is validated against its HSDS schema (services against
service.json, service_areas against service_area.json, ...), with $refs between schema files
resolved and the formats jsonschema can check (uuid, date-time, email, ...) asserted. Extra
properties such as the hub's `routing` extension are allowed by HSDS and so pass. Exits 0 when
every object conforms, 1 otherwise, printing each failure with its record and path.
Needs python3-jsonschema (4.18 or later, for `referencing`).
"""

import json
import pathlib
import sys

import jsonschema
import referencing
import referencing.jsonschema

# Top-level array of the flat directory -> HSDS schema file of its objects.
SCHEMA_OF = {
    "organizations": "organization.json",
    "services": "service.json",
    "service_areas": "service_area.json",
    "locations": "location.json",
    "schedules": "schedule.json",
    "phones": "phone.json",
    "contacts": "contact.json",
    "service_capacity": "service_capacity.json",
    "languages": "language.json",
}


def load_registry(schema_dir):
    resources = []
    for path in sorted(schema_dir.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = referencing.Resource.from_contents(
            contents, default_specification=referencing.jsonschema.DRAFT202012)
        resources.append((path.name, resource))
    return referencing.Registry().with_resources(resources)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema_dir = pathlib.Path(argv[1])
    directory = json.loads(pathlib.Path(argv[2]).read_text(encoding="utf-8"))
    registry = load_registry(schema_dir)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    failures = 0
    checked = 0
    for array, schema_file in SCHEMA_OF.items():
        if not (schema_dir / schema_file).exists():
            print(f"{array}: no {schema_file} in {schema_dir} (HSDS before 3.1?)")
            failures += 1
            continue
        schema = registry.contents(schema_file)
        validator = jsonschema.Draft202012Validator(
            schema, registry=registry, format_checker=checker)
        for index, record in enumerate(directory.get(array, [])):
            checked += 1
            for error in sorted(validator.iter_errors(record), key=lambda e: list(e.path)):
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
                print(f"{array}[{index}] (id {record.get('id')}){where}: {error.message}")
                failures += 1
    formats = ", ".join(sorted(checker.checkers))
    print(f"{checked} objects checked against {schema_dir}; formats asserted: {formats}")
    print("conforms" if failures == 0 else f"{failures} problem(s)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
