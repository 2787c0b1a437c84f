#!/usr/bin/env python3
# check-log-fields.py — every g_log_structured call in the tree passes its fields as plain
# strings, carries a KMG_* field (STYLE.md) and puts "MESSAGE" with its format LAST, as GLib wants.
import os
import re
import sys

KEY = re.compile(r'^"[A-Z][A-Z0-9_]*"$')
SKIP_DIRS = {'.git', 'subprojects', 'node_modules'}


def call_args(text, start):
    """Top-level arguments of the call whose '(' is at text[start]; None if unbalanced."""
    args, depth, cur, i = [], 0, [], start
    while i < len(text):
        c = text[i]
        if c in '"\'':
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if text.startswith('/*', i):
            i = text.find('*/', i) + 2
            continue
        if c == '(':
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == ')':
            depth -= 1
            if depth == 0:
                args.append(''.join(cur).strip())
                return args
        elif c == ',' and depth == 1:
            args.append(''.join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return None


def check_call(args):
    if args is None or len(args) < 4:
        return 'cannot read the call'
    fields = args[2:]
    keys = []
    i = 0
    while i < len(fields):
        key = fields[i]
        if key == '"MESSAGE"':
            if i + 1 >= len(fields):
                return 'MESSAGE has no format'
            rest = fields[i + 2:]
            late = [a for a in rest if KEY.match(a)]
            if late:
                return 'field %s after MESSAGE is read as a format argument' % late[0]
            break
        if not KEY.match(key):
            return 'expected a field name, found %s' % key
        if i + 1 >= len(fields):
            return 'field %s has no value' % key
        value = fields[i + 1]
        if value.startswith('"') and '%' in value:
            return 'field %s is given a format; only MESSAGE is formatted' % key
        keys.append(key)
        i += 2
    else:
        return 'no MESSAGE field'
    if not any(k.startswith('"KMG_') for k in keys):
        return 'no KMG_* field (KMG_SESSION, KMG_USER, ...)'
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    build = os.path.realpath(sys.argv[2]) if len(sys.argv) > 2 else None
    problems, calls = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames
                       if d not in SKIP_DIRS and not d.startswith('build')
                       and os.path.realpath(os.path.join(dirpath, d)) != build]
        for name in filenames:
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding='utf-8', errors='replace') as f:
                text = f.read()
            for m in re.finditer(r'\bg_log_structured\s*\(', text):
                calls += 1
                why = check_call(call_args(text, m.end() - 1))
                if why:
                    line = text.count('\n', 0, m.start()) + 1
                    problems.append('%s:%d: %s' % (os.path.relpath(path, root), line, why))
    for p in problems:
        print(p)
    print('%d g_log_structured calls, %d problems' % (calls, len(problems)))
    return 1 if problems or calls == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
