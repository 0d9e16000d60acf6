"""Parse launcher/config/config.def into a list of dicts (section, key, type, def, min, max, unit, reload, help)."""
import re

def split_args(s):
    args, cur, q, esc = [], '', False, False
    for ch in s:
        if q:
            cur += ch
            if esc: esc = False
            elif ch == '\\': esc = True
            elif ch == '"': q = False
        elif ch == '"':
            q = True; cur += ch
        elif ch == ',':
            args.append(cur.strip()); cur = ''
        else:
            cur += ch
    args.append(cur.strip())
    return args

def unq(s):
    if s.startswith('"') and s.endswith('"'):
        return bytes(s[1:-1], 'utf-8').decode('unicode_escape')
    return s

def parse(path):
    rows = []
    for line in open(path):
        m = re.match(r'^CFG\((.*)\)\s*$', line)
        if not m:
            continue
        a = split_args(m.group(1))
        assert len(a) == 9, a
        assert a[7] in ('LIVE', 'START', 'RESTART'), a
        rows.append(dict(section=a[0], key=a[1], type=a[2], default=unq(a[3]), min=a[4], max=a[5],
                         unit=unq(a[6]), reload=a[7], help=unq(a[8])))
    return rows

if __name__ == '__main__':
    import sys
    for r in parse(sys.argv[1]):
        print(r)
