#!/usr/bin/env python3
"""Print the README's reload table from launcher/config/config.def's reload column:
one row per section, the keys a reload applies and those it keeps until a
restart.  test/bats/man.bats checks that the README holds exactly this."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from parse_def import parse

REPO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
rows = parse(os.path.join(REPO, 'launcher/config/config.def'))
print('| section | a reload applies | kept until a restart |')
print('|---|---|---|')
sections = []
for r in rows:
    if r['section'] not in sections:
        sections.append(r['section'])
for s in sections:
    live = ', '.join(f"`{r['key']}`" for r in rows if r['section'] == s and r['reload'] != 'RESTART') or '-'
    restart = ', '.join(f"`{r['key']}`" for r in rows if r['section'] == s and r['reload'] == 'RESTART') or '-'
    print(f'| `[{s}]` | {live} | {restart} |')
