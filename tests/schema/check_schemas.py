#!/usr/bin/env python3
"""The JSON Schemas in schema/ against `meridian check`.

Usage: check_schemas.py SOURCE_DIR MERIDIAN_BINARY

- Every schema is a valid draft 2020-12 schema.
- Every example and test fixture in the repository validates against its schema, and
  `meridian check` accepts it too (except the fixtures listed in SEMANTIC_ONLY, which
  break a rule a schema cannot state; meridian must reject those).
- tests/schema/good/KIND/*.json: both accept; tests/schema/bad/KIND/*.json: both reject,
  and meridian's message names the file.

A zone, health or latency file is checked by meridian inside a copy of the demo
meridian.json (whose services the files may name) that loads it. A meridian.json
fixture finds certs/www.pem and certs/www.key beside it (a self-signed certificate
made here with openssl, for "tls"), as the demo's zones, geodata and health folders.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema

SOURCE, MERIDIAN = sys.argv[1], sys.argv[2]
KINDS = {"meridian": "meridian.schema.json", "zone": "zone.schema.json",
         "health": "health.schema.json", "latency": "latency.schema.json"}
# Repository files and what they are.
FIXTURES = {
    "meridian.json": "meridian",
    "zones/example.com.json": "zone",
    "health/demo.json": "health",
    "geodata/latency.json": "latency",
    "tests/data/dns/example.com.json": "zone",
    "tests/data/dns/example.net.json": "zone",
    "tests/data/routing/latency.json": "latency",
    "tests/data/routing/latency-short-row.json": "latency",
}
SEMANTIC_ONLY = {
    "tests/data/routing/latency-short-row.json": "a row with fewer RTTs than regions",
}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def load_schemas():
    schemas = {}
    for kind, name in KINDS.items():
        with open(os.path.join(SOURCE, "schema", name)) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        schemas[kind] = jsonschema.Draft202012Validator(schema)
    return schemas


def schema_errors(validator, path):
    with open(path) as f:
        document = json.load(f)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def demo_config():
    """The demo meridian.json with its paths made absolute."""
    with open(os.path.join(SOURCE, "meridian.json")) as f:
        config = json.load(f)
    absolute = lambda p: os.path.join(SOURCE, p)
    config["zones"] = absolute(config["zones"])
    config["health"] = absolute(config["health"])
    config["geoip"] = {k: absolute(v) for k, v in config["geoip"].items()}
    config["latency"] = absolute(config["latency"])
    config.pop("admin", None)
    return config


def make_certificate(work):
    """certs/www.pem and certs/www.key in work: a throw-away self-signed certificate."""
    folder = os.path.join(work, "certs")
    os.makedirs(folder)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(folder, "www.key"), "-out", os.path.join(folder, "www.pem"),
                    "-days", "2", "-subj", "/CN=www.example.com"], check=True, capture_output=True, timeout=60)
    return folder


def meridian_check(kind, path, work):
    """(exit code, output) of `meridian check` on a configuration that loads path."""
    case = tempfile.mkdtemp(dir=work)
    if kind == "meridian":
        # Beside it: the demo zone (whose services a full example defines), geodata and health.
        shutil.copytree(os.path.join(SOURCE, "geodata"), os.path.join(case, "geodata"))
        os.makedirs(os.path.join(case, "zones"))
        os.makedirs(os.path.join(case, "health"))
        shutil.copy(os.path.join(SOURCE, "tests", "schema", "min.test.json"), os.path.join(case, "zones"))
        shutil.copytree(os.path.join(work, "certs"), os.path.join(case, "certs"))
        config_path = os.path.join(case, os.path.basename(path))  # so that messages name it
        shutil.copy(path, config_path)
        if os.path.abspath(path) == os.path.join(SOURCE, "meridian.json"):
            config_path = path  # the demo as shipped, beside its own files
    else:
        config = demo_config()
        if kind == "zone":
            config["zones"] = [os.path.abspath(path)]
        elif kind == "health":
            folder = os.path.join(case, "health")
            os.makedirs(folder)
            shutil.copy(path, folder)
            config["health"] = folder
        elif kind == "latency":
            config["latency"] = os.path.abspath(path)
        config_path = os.path.join(case, "meridian.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=2)
    result = subprocess.run([MERIDIAN, "check", "--config", config_path], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def private_keys_owner_only():
    """Git keeps no file mode but the executable bit: the fixtures' DNSSEC private
    keys (which meridian refuses when everyone may read them) are made 0600 here."""
    for folder, _, names in os.walk(os.path.join(SOURCE, "tests", "schema")):
        for name in names:
            if name.endswith(".private"):
                os.chmod(os.path.join(folder, name), 0o600)


def main():
    private_keys_owner_only()
    schemas = load_schemas()
    work = tempfile.mkdtemp(prefix="meridian-schema-")
    try:
        make_certificate(work)
        checked = 0
        for rel, kind in FIXTURES.items():
            path = os.path.join(SOURCE, rel)
            errors = schema_errors(schemas[kind], path)
            if errors:
                fail(f"{rel}: the {kind} schema rejects it: {errors[:3]}")
            code, out = meridian_check(kind, path, work)
            want = 1 if rel in SEMANTIC_ONLY else 0
            if code != want:
                fail(f"{rel}: meridian check exited {code}, expected {want}:\n{out}")
            checked += 1
        for verdict, want_code in (("good", 0), ("bad", 1)):
            for kind in KINDS:
                folder = os.path.join(SOURCE, "tests", "schema", verdict, kind)
                names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
                if not names:
                    fail(f"no files in {folder}")
                for name in names:
                    path = os.path.join(folder, name)
                    rel = os.path.relpath(path, SOURCE)
                    errors = schema_errors(schemas[kind], path)
                    code, out = meridian_check(kind, path, work)
                    if verdict == "good" and errors:
                        fail(f"{rel}: the schema rejects a good file: {errors[:3]}")
                    if verdict == "bad" and not errors:
                        fail(f"{rel}: the schema accepts a bad file")
                    if code != want_code:
                        fail(f"{rel}: meridian check exited {code}, expected {want_code}:\n{out}")
                    elif verdict == "bad" and name not in out:
                        fail(f"{rel}: meridian rejected it, but not for this file:\n{out}")
                    checked += 1
        print(f"{checked} files checked, {len(failures)} disagreement(s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
