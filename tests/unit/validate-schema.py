#!/usr/bin/python3
"""Validate config.json files against the OCI runtime-spec v1.3.0 JSON schema.

usage: validate-schema.py [--expect-invalid] FILE...   ("-" reads stdin)

The schema files are the copies in spec-fixtures/schema next to this script.
Exit status: 0 when every file matches the expectation (valid, or invalid with
--expect-invalid), 1 when one does not, 77 (automake's "skip") when the
python3-jsonschema module is not installed.
"""
import json
import os
import pathlib
import sys

try:
    import jsonschema
except ImportError:
    print("validate-schema: python3-jsonschema is not installed, skipping", file=sys.stderr)
    sys.exit(77)

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent / "spec-fixtures" / "schema"


def make_validator():
    store = {}
    for name in os.listdir(SCHEMA_DIR):
        if name.endswith(".json"):
            path = SCHEMA_DIR / name
            with open(path, encoding="utf-8") as f:
                store[path.as_uri()] = json.load(f)
    main_uri = (SCHEMA_DIR / "config-schema.json").as_uri()
    schema = store[main_uri]
    # The schema refers to its sibling files by relative name ("defs.json#/..."):
    # resolve them from the preloaded store instead of the network.
    resolver = jsonschema.RefResolver(base_uri=main_uri, referrer=schema, store=store)
    return jsonschema.Draft4Validator(schema, resolver=resolver)


def load(name):
    if name == "-":
        return json.load(sys.stdin)
    with open(name, encoding="utf-8") as f:
        return json.load(f)


def main(argv):
    expect_invalid = False
    if argv and argv[0] == "--expect-invalid":
        expect_invalid = True
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    validator = make_validator()
    status = 0
    for name in argv:
        try:
            doc = load(name)
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        except ValueError as e:  # not JSON at all
            errors = [e]
        if expect_invalid and not errors:
            print(f"{name}: valid, but expected to be invalid", file=sys.stderr)
            status = 1
        elif not expect_invalid and errors:
            for e in errors:
                where = "/".join(str(p) for p in getattr(e, "path", []))
                print(f"{name}: {where}: {getattr(e, 'message', e)}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
