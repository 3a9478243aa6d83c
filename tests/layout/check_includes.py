#!/usr/bin/env python3
"""The include directions of docs/ARCHITECTURE.md, checked on every source file.

Each folder of kreuz is a room with the rooms it may use; an #include "room/..." that points
anywhere else is a design bug and fails this check (a ctest of `make test`). System and library
headers are checked for the rules that name them (libuv stays out of wamp/, libcurl out of the
core). Prints one line per violation and a closing count line.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

# room -> the rooms it may include (itself always)
ALLOWED = {
    "websocket": set(),
    "wamp": set(),
    "config": {"websocket/options.h"},     # plain option structs only
    "router": {"websocket", "wamp", "config"},
    # The cluster implements the core's Backplane; the core never names it.
    "router/cluster": {"router", "websocket", "wamp", "config"},
    "http": {"router", "websocket", "wamp", "config"},
    "app": {"http", "router", "router/cluster", "websocket", "wamp", "config"},
}
# room -> library headers it must not include
FORBIDDEN_SYSTEM = {
    "wamp": ("uv.h", "curl/"),
    "websocket": ("curl/", "nlohmann/"),
    "router": ("curl/", "hiredis/"),
    "http": ("hiredis/",),
    "config": ("uv.h", "curl/"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def room_of(target):
    """The innermost room an include points into ("router/cluster/x.h" is in router/cluster)."""
    rooms = [r for r in ALLOWED if target.startswith(r + "/")]
    return max(rooms, key=len) if rooms else None


def main():
    problems = []
    checked = 0
    for room, allowed in ALLOWED.items():
        for path in sorted((ROOT / room).glob("*")):
            if path.suffix not in (".h", ".cpp"):
                continue
            checked += 1
            for kind, target in INCLUDE.findall(path.read_text(errors="replace")):
                rel = path.relative_to(ROOT)
                if kind == '"':
                    other = room_of(target)
                    if other is None or other == room:
                        continue
                    if other not in allowed and target not in allowed:
                        problems.append(f"{rel}: includes {target} ({room}/ may use {sorted(allowed) or 'nothing'})")
                elif any(target.startswith(f) for f in FORBIDDEN_SYSTEM.get(room, ())):
                    problems.append(f"{rel}: includes <{target}>, which {room}/ must not use")
    for p in problems:
        print(p)
    print(f"include check: {checked} files, {len(problems)} violations")
    print(f"{checked - len({p.split(':')[0] for p in problems})} passed, {len({p.split(':')[0] for p in problems})} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
