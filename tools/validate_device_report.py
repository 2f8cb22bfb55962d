"""Validate a device report written by an app core (Kotlin or Swift) with pocketsr's own validator.

Usage: python validate_device_report.py REPORT.json (tools/check_device_report picks the Python) — exit 0 when it meets
validate/schemas/device_report.schema.json, else one line naming the first problem and exit 1.
Uses ``pocketsr.validate.device_report.load`` (what ``pocketsr device-report`` runs) when pocketsr
is installed, else jsonschema with the same schema file and format checker.
"""
import json
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[1] / "validate" / "schemas" / "device_report.schema.json"


def main(path: str) -> int:
    try:
        try:
            from pocketsr.validate.device_report import load
        except ImportError:
            from jsonschema import Draft202012Validator, FormatChecker
            Draft202012Validator(json.loads(SCHEMA.read_text()), format_checker=FormatChecker()).validate(
                json.loads(Path(path).read_text()))
        else:
            load(Path(path))
    except Exception as exc:  # the first schema error, one line
        print(str(exc).splitlines()[0])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
