#!/usr/bin/env python3
"""record.py — one benchmark measurement as one JSON line.

  record.py OUT.jsonl key=value ... [key@=FILE.json ...]

key=value: numbers become numbers, the rest strings (empty: null).
key@=FILE: the JSON object in FILE (null if FILE is missing or not JSON).
The object is appended to OUT.jsonl as one line.
"""

import json
import sys


def value(text):
    if text == "":
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rec = {}
    for arg in sys.argv[2:]:
        if "@=" in arg:
            key, path = arg.split("@=", 1)
            try:
                with open(path) as f:
                    rec[key] = json.load(f)
            except (OSError, ValueError):
                rec[key] = None
        else:
            key, _, text = arg.partition("=")
            rec[key] = value(text)
    with open(sys.argv[1], "a") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
