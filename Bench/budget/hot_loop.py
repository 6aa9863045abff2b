#!/usr/bin/env python3
"""Writes the hottest innermost loop of one function as llvm-mca input (AT&T, branch targets
replaced by labels), from `perf annotate --stdio -s SYMBOL` output.

  perf record -e cpu-clock -F 20000 -o k.data -- kernel-bench --kernel lut4 --rows 128 \\
      --cols 1024 --footprint 1 --repeat 4001
  perf annotate -i k.data --stdio -s 'SYMBOL' > k.txt   # SYMBOL from perf report --sort sym
  hot_loop.py k.txt loop.s [N]    # N > 0: the N-th hottest loop instead of the innermost hot one
  hot_loop.py --blocks k.txt START END        # basic blocks of a range with their sample sums
  hot_loop.py --path k.txt path.s A-B C-D ... # the executed path: these blocks, in this order

A loop is the range between a backward jump and its target; the innermost hot loop is the
smallest loop holding at least 80 % of the samples of the hottest one. A loop with branches
inside holds blocks that never run (other widths, rare cases): --blocks shows which blocks hold
samples, --path writes those as one iteration for port_budget.py.
"""
import re
import sys

LINE = re.compile(r'^\s*([\d.]+)?\s*:\s+([0-9a-f]+):\s+(.*)$')
JUMP = re.compile(r'(j\w+)\s+([0-9a-f]+)')


def read(src):
    ins = []
    for line in open(src):
        m = LINE.match(line)
        if m:
            ins.append((int(m.group(2), 16), float(m.group(1) or 0), m.group(3).strip()))
    return ins


def clean(text):
    m = JUMP.match(text)
    if m:  # the target's symbol may hold '<' and '>' of templates
        return f"{m.group(1)} {m.group(2)}"
    return re.sub(r'\s*#.*$', '', re.sub(r'\s*<[^>]*>', '', text))


def blocks(src, start, end):
    body = [x for x in read(src) if start <= x[0] <= end]
    targets = {int(m.group(2), 16) for _, _, t in body for m in [JUMP.match(t)] if m}
    block = []
    for i, x in enumerate(body):
        if x[0] in targets and block:
            yield block
            block = []
        block.append(x)
        if JUMP.match(x[2]) or i == len(body) - 1:
            yield block
            block = []


def path(src, out, ranges):
    ins = read(src)
    lines, share = [], 0.0
    for a, b in ranges:
        for _, p, text in (x for x in ins if a <= x[0] <= b):
            share += p
            lines.append(f"  {clean(text)}")
    with open(out, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f"{out}: {len(lines)} instructions, {share:.1f} % of the samples")


def main(src, out, pick=0):
    ins = read(src)
    loops = []
    for addr, _, text in ins:
        m = JUMP.match(text)
        if m and int(m.group(2), 16) <= addr:
            start = int(m.group(2), 16)
            body = [x for x in ins if start <= x[0] <= addr]
            loops.append((sum(x[1] for x in body), start, addr, body))
    loops.sort(key=lambda l: -l[0])
    for k, (share, start, end, body) in enumerate(loops[:6]):
        print(f"loop {k + 1}: {start:x}-{end:x}, {len(body)} instructions, {share:.1f} % of the samples")
    if pick:
        share, start, end, body = loops[pick - 1]
    else:
        hot = [l for l in loops if l[0] >= 0.8 * loops[0][0]]
        share, start, end, body = min(hot, key=lambda l: len(l[3]))
    print(f"written: {start:x}-{end:x}, {len(body)} instructions, {share:.1f} %")
    with open(out, 'w') as f:
        f.write('.L0:\n')
        for _, _, text in body:
            text = clean(text)
            m = JUMP.match(text)
            if m:
                text = f"{m.group(1)} {'.L0' if int(m.group(2), 16) == start else '.Lout'}"
            f.write('  ' + text + '\n')
        f.write('.Lout:\n')


if __name__ == '__main__':
    if sys.argv[1] == '--blocks':
        for b in blocks(sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4], 16)):
            print(f"{b[0][0]:x}-{b[-1][0]:x}: {len(b):3d} instructions, "
                  f"{sum(x[1] for x in b):6.2f} % of the samples, ends {clean(b[-1][2])}")
    elif sys.argv[1] == '--path':
        path(sys.argv[2], sys.argv[3], [tuple(int(v, 16) for v in r.split('-')) for r in sys.argv[4:]])
    else:
        main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
