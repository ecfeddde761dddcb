#!/usr/bin/python3
"""Parses Prometheus text exposition (format 0.0.4) from a file with Debian's
python3-prometheus-client and prints it back in a canonical form:

    family NAME TYPE
    NAME{label="value",...} VALUE      (labels sorted by name)

Exits 1 with the parser's message on a parse error, 2 on a duplicate sample,
so a test fails on malformed output instead of matching text loosely.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def escape(value):
    """A label value escaped as the exposition format writes it."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    seen = set()
    out = []
    try:
        for family in text_string_to_metric_families(text):
            out.append(f"family {family.name} {family.type}")
            for s in family.samples:
                labels = ",".join(f'{k}="{escape(v)}"'
                                  for k, v in sorted(s.labels.items()))
                key = f"{s.name}{{{labels}}}"
                if key in seen:
                    print(f"duplicate sample {key}", file=sys.stderr)
                    return 2
                seen.add(key)
                value = s.value
                if value == int(value):
                    value = int(value)
                out.append(f"{key} {value}")
    except Exception as e:  # the parser raises ValueError and friends
        print(f"parse error: {e}", file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
