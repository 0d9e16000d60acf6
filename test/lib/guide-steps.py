#!/usr/bin/env python3
"""The marked command blocks of a guide (docs/GETTING-STARTED.md), for the
test that runs them (test/bats/package.bats).

Every ```sh block (or bash, shell, console, zsh) must follow a marker comment, on the line before it or
with blank lines between:

    <!-- test ID: HOST... [(exit N)] -->   run the block on each HOST, in
                                           order; the block's status must be
                                           N (default 0)
    <!-- test ID: copy HOST:PATH HOST -->  the test copies the file instead
    <!-- test ID: skip: REASON -->         the test does not run the block

  guide-steps.py GUIDE list
      one line per block: ID, TAB, run|copy|skip, TAB, the rest
  guide-steps.py GUIDE block ID [NAME=ADDRESS...]
      the block's text, with each NAME.example.net replaced by ADDRESS (or,
      where NAME is an IPv4 address, that address)

Exit status 1 (with the reason) for an unmarked block, a marker without a
block, a repeated ID, or an unknown ID.
"""
import re
import sys

MARK = re.compile(r'^<!-- test ([a-z0-9-]+): (.*?) -->$')
# a command block in any shell's language must be marked; output examples
# (a bare fence) need not
SHELL_FENCE = re.compile(r'^```\s*(sh|bash|shell|console|zsh)\b')


def parse(path):
    steps = []
    seen = set()
    pending = None
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line.strip())
        if m:
            if pending:
                sys.exit(f'{path}:{i + 1}: marker after marker {pending[0]} without a block')
            pending = (m.group(1), m.group(2), i + 1)
        elif SHELL_FENCE.match(line):
            if not pending:
                sys.exit(f'{path}:{i + 1}: a sh block without a test marker before it')
            ident, spec, at = pending
            if ident in seen:
                sys.exit(f'{path}:{at}: step {ident} marked twice')
            seen.add(ident)
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                body.append(lines[i])
                i += 1
            steps.append((ident, spec, '\n'.join(body) + '\n'))
            pending = None
        elif line.strip() and pending:
            sys.exit(f'{path}:{pending[2]}: marker {pending[0]} is not followed by a sh block')
        i += 1
    if pending:
        sys.exit(f'{path}:{pending[2]}: marker {pending[0]} without a block')
    return steps


def kind(spec):
    if spec.startswith('skip:'):
        return 'skip', spec[5:].strip()
    if spec.startswith('copy '):
        return 'copy', spec[5:].strip()
    return 'run', spec


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    steps = parse(sys.argv[1])
    if sys.argv[2] == 'list':
        for ident, spec, _ in steps:
            k, rest = kind(spec)
            print(f'{ident}\t{k}\t{rest}')
        return
    if sys.argv[2] == 'block' and len(sys.argv) >= 4:
        names = dict(a.split('=', 1) for a in sys.argv[4:])
        for ident, _, body in steps:
            if ident == sys.argv[3]:
                body = re.sub(r'\b([a-z][a-z0-9-]*)\.example\.net\b',
                              lambda m: names.get(m.group(1), m.group(0)), body)
                body = re.sub(r'(?<![\d.])(\d+\.\d+\.\d+\.\d+)(?![\d.])',
                              lambda m: names.get(m.group(1), m.group(0)), body)
                sys.stdout.write(body)
                return
        sys.exit(f'no step {sys.argv[3]}')
    sys.exit(__doc__)


main()
