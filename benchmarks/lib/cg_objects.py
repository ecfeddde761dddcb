#!/usr/bin/python3
"""Self cost by object (shared library or executable) of callgrind files.

Usage: cg_objects.py MAIN_NAME FILE...

Sums the self instructions (Ir) of every function per object file over
all FILEs (callgrind's output format: `ob=` names the object of the
functions that follow; a `calls=` line is followed by the inclusive cost
of that call, which is not self cost and is skipped). Prints one line,
"group share% ..." sorted by share, with the objects grouped as libcrypto,
libssl, libc, libstdc++, CAF, roadrunner (the executable named MAIN_NAME,
which holds libroadrunner), ld.so, other.
"""
import re
import sys


def group(obj, main):
    if "libcrypto" in obj:
        return "libcrypto"
    if "libssl" in obj:
        return "libssl"
    if re.search(r"/libc\.so|/libc-", obj):
        return "libc"
    if "libstdc++" in obj:
        return "libstdc++"
    if "libcaf" in obj:
        return "CAF"
    if obj.endswith("/" + main) or obj == main:
        return "roadrunner"
    if "ld-linux" in obj:
        return "ld.so"
    return "other"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main_name, files = sys.argv[1], sys.argv[2:]
    sums = {}
    for path in files:
        names = {}
        obj = "???"
        skip_next = False
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if skip_next:
                    skip_next = False
                    continue
                if line.startswith("ob="):
                    m = re.match(r"ob=\((\d+)\)(?: (.*))?", line.strip())
                    if m:
                        if m.group(2):
                            names[m.group(1)] = m.group(2)
                        obj = names.get(m.group(1), "???")
                    else:
                        obj = line[3:].strip()
                    continue
                if line.startswith("cob="):  # may define a name id
                    m = re.match(r"cob=\((\d+)\) (.*)", line.strip())
                    if m:
                        names[m.group(1)] = m.group(2)
                    continue
                if line.startswith("calls="):
                    skip_next = True
                    continue
                c = line[:1]
                if c.isdigit() or c in "+-*":
                    parts = line.split()
                    if len(parts) >= 2 and parts[-1].isdigit():
                        g = group(obj, main_name)
                        sums[g] = sums.get(g, 0) + int(parts[-1])
    total = sum(sums.values()) or 1
    print(" ".join(f"{k} {100 * v / total:.1f}%"
                   for k, v in sorted(sums.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
