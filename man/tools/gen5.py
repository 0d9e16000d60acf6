#!/usr/bin/env python3
"""Generate man/failover-launcher.ini.5 from launcher/config/config.def, keys.py and
ini5.in (the page around the key list, with @KEYS@ where the list goes).
Fails when config.def and keys.py disagree on the set of keys."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from parse_def import parse
from keys import D

REPO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
rows = parse(os.path.join(REPO, 'launcher/config/config.def'))
have = {(r['section'], r['key']) for r in rows}
missing = [f'{s}.{k}' for s, k in sorted(have - set(D))]
extra = [f'{s}.{k}' for s, k in sorted(set(D) - have)]
if missing or extra:
    sys.exit(f'gen5: keys without text: {missing}; text for no key: {extra}')

def esc(s):
    return s.replace('\\', '\\e').replace('-', '\\-')

WORD = {'STR': 'text', 'PATH': 'path', 'BOOL': 'boolean', 'ENUM': 'choice', 'LIST': 'value',
        'MCAST': 'address', 'HOSTPORT': 'host\\fR:\\fIport'}

def word(r):
    if r['type'] == 'INT':
        return {'ms': 'milliseconds', 'bytes': 'bytes', 'octal': 'mode'}.get(r['unit'], 'number')
    return WORD[r['type']]

def kind(r):
    t = r['type']
    if t == 'INT':
        if r['unit'] == 'octal':
            return f"Octal, {r['min']} to {r['max']}."
        unit = {'ms': ' milliseconds', 'bytes': ' bytes'}.get(r['unit'], '')
        return f"Integer, {r['min']} to {r['max']}{unit}."
    if t == 'STR':
        return 'Text, required.' if r['min'] == '1' else 'Text.'
    if t == 'PATH':
        return 'Path.'
    if t == 'BOOL':
        return 'Boolean.'
    if t == 'ENUM':
        return 'One of ' + ', '.join(f'\\fB{esc(c)}\\fR' for c in r['unit'].split('|')) + '.'
    if t == 'LIST':
        return 'List: repeat the key, one value each.'
    if t == 'MCAST':
        return 'IPv4 multicast address, 224.0.0.0 to 239.255.255.255.'
    if t == 'HOSTPORT':
        return 'Host and port, port 1 to 65535' + ('; empty for none.' if r['default'] == '' else '.')
    raise ValueError(t)

def default(r, d):
    if d['default'] is not None:
        return d['default']
    if r['default'] == '':
        return 'empty'
    return f"\\fB{esc(r['default'])}\\fR"

out = []
section = None
for r in rows:
    if r['section'] != section:
        section = r['section']
        out.append(f'.SS "[{section}]"')
        out.append(f'.\\" @SECTION-{section}@')
    d = D[(r['section'], r['key'])]
    out.append('.TP')
    out.append(f"\\fB{esc(r['key'])}\\fR = \\fI{word(r)}\\fR")
    out.append(d['kind'] or kind(r))
    out.append(f'Default: {default(r, d)}.')
    out.append('.br')
    out.append(d['text'])
    if r['reload'] == 'RESTART':
        out.append('Changed by a reload only after a restart.')

tmpl = open(os.path.join(os.path.dirname(__file__), 'ini5.in')).read()
page = tmpl.replace('@KEYS@\n', '\n'.join(out) + '\n')
# section introductions live in the template as @INTRO-section@ blocks
intro = {}
for s in {r['section'] for r in rows}:
    intro[s] = ''
import re
for m in re.finditer(r'^\.\\" INTRO (\w+)\n(.*?)^\.\\" END\n', tmpl, re.S | re.M):
    intro[m.group(1)] = m.group(2)
page = re.sub(r'^\.\\" INTRO (\w+)\n.*?^\.\\" END\n', '', page, flags=re.S | re.M)
for s, text in intro.items():
    if not text:
        sys.exit(f'gen5: no introduction for [{s}]')
    page = page.replace(f'.\\" @SECTION-{s}@\n', text)
sys.stdout.write(page)
