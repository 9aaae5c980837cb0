#!/usr/bin/env python3
"""Validate configs against schema/qcc.schema.json (the JSON Schema that
editors use), so the schema and qccc agree: every config qccc accepts must
validate, and configs with key/type/enum/range errors must not.
Needs python3-jsonschema and python3-yaml; exits 77 (meson: skipped) without."""
import glob
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

root = os.environ.get("QCC_SOURCE_ROOT", ".")
os.chdir(root)
schema = __import__("json").load(open("schema/qcc.schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
failed = 0

must_pass = ["examples/quickstart.yaml", "examples/failover.yaml"] + sorted(
    glob.glob("tests/configs/good/*.yaml"))
for f in must_pass:
    if "/include/" in f:
        continue
    errs = list(v.iter_errors(yaml.safe_load(open(f))))
    if errs:
        failed += 1
        print(f"FAIL {f}: schema rejects a config qccc accepts: {errs[0].message}")

# Rules the schema can express: unknown keys, types, enums, ranges, sizes.
must_fail = ["002-unknown-key-did-you-mean", "003-unknown-key-list", "004-wrong-type",
             "005-out-of-range", "007-bad-size", "008-bad-enum", "027-version-missing",
             "028-version-wrong", "034-missing-required"]
for name in must_fail:
    f = f"tests/configs/bad/{name}.yaml"
    if not list(v.iter_errors(yaml.safe_load(open(f)))):
        failed += 1
        print(f"FAIL {f}: schema accepts a config qccc rejects")

print(f"{len(must_pass) + len(must_fail) - failed} ok, {failed} failed")
sys.exit(1 if failed else 0)
