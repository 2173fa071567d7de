"""Checks custom resources against their CustomResourceDefinitions.

Usage: validate_crds.py RENDERED.yaml CRD.yaml...

Every object of RENDERED whose group, version and kind one of the CRDs
defines is validated against that version's openAPIV3Schema, strictly as an
API server with `--validate=strict` would be: a field the schema does not
name is an error unless the schema preserves unknown fields. Objects of
other kinds are left to kubernetes-validate. Prints one line per checked
object and one per error; exits 1 on any error.
"""

import sys

import jsonschema
import yaml


def strict(schema):
    """The schema with unknown fields rejected wherever it names fields."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def schemas(crd_files):
    found = {}
    for path in crd_files:
        with open(path, encoding="utf-8") as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                for version in spec["versions"]:
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    found[key] = strict(version["schema"]["openAPIV3Schema"])
    return found


def main():
    rendered, crd_files = sys.argv[1], sys.argv[2:]
    known = schemas(crd_files)
    errors = 0
    with open(rendered, encoding="utf-8") as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    for obj in objects:
        key = (obj.get("apiVersion"), obj.get("kind"))
        schema = known.get(key)
        if schema is None:
            continue
        name = f"{obj['kind']} {obj.get('metadata', {}).get('name')}"
        validator = jsonschema.Draft7Validator(schema)
        problems = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        for problem in problems:
            path = ".".join(str(p) for p in problem.absolute_path) or "(root)"
            print(f"ERROR {name}: {path}: {problem.message}")
        errors += len(problems)
        print(f"{'INVALID' if problems else 'VALID'} {name} against {key[0]}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
