#!/usr/bin/env python3
"""Cycles per iteration of a loop body (AT&T asm, e.g. from hot_loop.py) on AMD Zen 3, from the
instruction mix: every resource's minimum time, the largest of which bounds the loop.

  port_budget.py loop.s [weights per iteration]   (default: 8 per 256-bit FMA)

Model (docs/PERFORMANCE.md): FP pipes FP0-FP3, with each uop class on the pipes it may use and a
fractional weight where zen3-throughput.c measured more than one cycle per pipe; the fp16
conversion unit (register-form vcvtph2ps, vcvtps2ph, vextracti128: 1/cycle together); GPR->XMM
moves 1/cycle; 3 loads per cycle (2 of 256 bits); 4 scalar ALUs; 6 instructions dispatched per
cycle (cmp/test + jcc fused). The FP pipes are an LP: uops may split between their pipes.
Latency chains, the scheduler's window and the memory hierarchy are not modelled.
"""
import json
import re
import sys

from scipy.optimize import linprog

FP = ['FP0', 'FP1', 'FP2', 'FP3']
FP012 = ['FP0', 'FP1', 'FP2']


def classify(op, args):
    """[(class, pipes, weight)] of a vector instruction; [] if it needs no FP pipe."""
    mem = '(' in args
    ymm = 'ymm' in args
    if op.startswith('vfmadd') or op.startswith('vfnmadd') or op == 'vmulps':
        return [('fma', ['FP0', 'FP1'], 1)]
    if op in ('vaddps', 'vsubps', 'vcvtdq2ps', 'vcvtps2dq', 'vcvttps2dq'):
        return [('fadd/cvt', ['FP2', 'FP3'], 1)]
    if op == 'vcvtph2ps':
        # memory form: 2/cycle alone, 0.74 c per pair with an fma (as a shuffle-pipe uop)
        return [('cvtph2ps m', ['FP1', 'FP2'], 1)] if mem else [('f16 unit', ['X'], 1)]
    if op in ('vcvtps2ph', 'vextracti128', 'vextractf128'):
        return [('f16 unit', ['X'], 1)]
    if op in ('vpermd', 'vpermps'):
        return [('vpermd', FP012, 4)]          # 1.31 c alone, 1.50 c per pair with an fma
    if op in ('vpermpd', 'vpermq'):
        return [('vpermpd', FP012, 3.8)]       # 1.27 c alone, 1.33 c per pair with an fma
    if re.match(r'vpmov[sz]x', op) and not mem and ymm:
        return [('widen', FP012, 3.5)]         # 1.28 c alone, 1.33 c per pair with an fma
    if op in ('vmovq', 'vmovd') and re.match(r'%[re]', args):
        return [('gpr->xmm', ['G'], 1)]        # 1/cycle
    if op in ('vpmaddwd', 'vpmaddubsw', 'vpmulld', 'vpmullw', 'vpmulhuw', 'vpmulhw'):
        return [('imul', ['FP0', 'FP3'], 1)]
    if op in ('vblendvps', 'vpblendvb'):
        return [('blendv', ['FP0', 'FP1'], 1)]
    if re.match(r'vps(rl|ll|ra)', op):
        return [('shuffle/shift', ['FP1', 'FP2'], 1)]
    if re.match(r'vpbroadcast[dq]|vbroadcast(ss|sd|i128|f128)|vmov(ups|aps|dqu|dqa|ss|sd|q|d)$', op):
        return [] if mem else [('reg move', [], 1)]
    if re.match(r'vp(shufb|shufd|unpck|alignr|ermilps|broadcast|mov[sz]x|insr)|vshufps|vunpck|'
                r'vinsert(i128|f128|ps)', op):
        return [('shuffle/shift', ['FP1', 'FP2'], 1)]
    if re.match(r'vp(and|or|xor|andn|add|sub|cmp|min|max|test)|vblendps|vpblendd|vandps|vorps|'
                r'vxorps', op):
        return [('vector ALU', FP, 1)]
    return None


def budget(path, weights=None):
    ins = []
    for line in open(path):
        line = line.strip()
        if line and not line.endswith(':'):
            op, _, args = line.partition(' ')
            ins.append((op, args.strip()))
    uops, counts = [], {}
    loads = loads256 = scalar = fused = fma = 0
    prev = ''
    for op, args in ins:
        mem = '(' in args and not op.startswith('lea')
        operands = re.split(r',(?![^(]*\))', args)
        store = mem and len(operands) > 1 and '(' in operands[-1]  # AT&T: destination last
        if mem and not store:
            loads += 1
            if 'ymm' in args and not re.match(r'vcvtph2ps|vbroadcast|vpbroadcast|vpmov', op):
                loads256 += 1
        fma += op.startswith('vfmadd')
        if op.startswith('v'):
            c = classify(op, args)
            if c is None:
                raise SystemExit(f'unclassified: {op} {args}')
            for cls, pipes, w in c:
                counts[cls] = counts.get(cls, 0) + 1
                if pipes:
                    uops.append((pipes, w))
        elif op.startswith('j') and re.match(r'cmp|test|add|sub|inc|dec|and', prev):
            fused += 1
        elif not (op.startswith('prefetch') or (op.startswith('mov') and mem)):
            scalar += 1
        prev = op
    pipes = FP + ['X', 'G']
    var = [(i, p) for i, (ps, _) in enumerate(uops) for p in ps]
    n = len(var)
    a_eq = [[1 if v[0] == i else 0 for v in var] + [0] for i in range(len(uops))]
    b_eq = [w for _, w in uops]
    a_ub = [[1 if v[1] == p else 0 for v in var] + [-1] for p in pipes]
    fp = linprog([0] * n + [1], A_ub=a_ub, b_ub=[0] * len(pipes), A_eq=a_eq or None,
                 b_eq=b_eq or None, bounds=[(0, None)] * (n + 1)).x[-1] if uops else 0.0
    bounds = {
        'FP pipes': fp,
        'fp16 conversion unit': counts.get('f16 unit', 0),
        'GPR->XMM': counts.get('gpr->xmm', 0),
        'loads': max(loads / 3, loads256 / 2),
        'scalar ALUs': scalar / 4,
        'dispatch': (len(ins) - fused) / 6,
    }
    weights = weights or 8 * fma
    top = max(bounds, key=bounds.get)
    return dict(instructions=len(ins), weights=weights, classes=counts, loads=loads,
                bounds={k: round(v, 2) for k, v in bounds.items()}, bound=top,
                cycles=round(bounds[top], 2), weights_per_cycle=round(weights / bounds[top], 2))


if __name__ == '__main__':
    print(json.dumps(budget(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None), indent=1))
