#!/usr/bin/env python3
"""Cycles per iteration of a loop body (AT&T asm, e.g. from hot_loop.py) on AMD Zen 3 (AVX2) or
Zen 5 (AVX-512, as these VMs run it), from the instruction mix: every resource's minimum time,
the largest of which bounds the loop.

  port_budget.py [--cpu zen3|zen5] loop.s [weights per iteration]
  (default weights: 8 per 256-bit FMA, 16 per 512-bit FMA)

Both models follow throughput.c's measurements (docs/PERFORMANCE.md). FP pipes FP0-FP3, each uop
class on the pipes it may use with a weight in pipe-cycles; the FP pipes are an LP (a class may
split between its pipes).
Zen 3: fractional weights where a uop holds its pipe more than a cycle; the fp16 conversion unit
(register-form vcvtph2ps, vcvtps2ph, vextracti128: 1/cycle together); GPR->XMM moves 1/cycle;
3 loads per cycle (2 of 256 bits); 4 scalar ALUs; 6 instructions dispatched per cycle.
Zen 5: a 512-bit uop holds its pipe two cycles (one zmm FMA per cycle, two ymm); fp16 conversions
on FP0-FP2; mask writes on the FMA pipes; kmov from a GPR 1/cycle (and FMA-pipe time), GPR<->
vector moves 1/cycle; 4 loads per cycle, the vector ones moving at most 2 x 256 bits (a full zmm
load counts twice); 2 stores; 6 scalar ALUs; 8 instructions dispatched per cycle.
cmp/test + jcc count as one instruction. Latency chains, the scheduler's window and the memory
hierarchy are not modelled.
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


FP01, FP12, FP23, FP123 = ['FP0', 'FP1'], ['FP1', 'FP2'], ['FP2', 'FP3'], ['FP1', 'FP2', 'FP3']


def classify_zen5(op, args):
    """[(class, pipes, pipe-cycles)] of a vector or mask instruction on Zen 5."""
    mem = '(' in args.split(',')[0]
    w = 2 if 'zmm' in args else 1        # 512-bit uops are double-pumped
    if op.startswith('vfmadd') or op.startswith('vfnmadd') or op == 'vmulps':
        return [('fma', FP01, w)]
    if op in ('vaddps', 'vsubps', 'vcvtdq2ps', 'vcvtps2dq', 'vcvttps2dq'):
        return [('fadd/cvt', FP23, w)]
    if op == 'vcvtph2ps':
        # zmm: 1.33 c alone, 1.80 with an fma, 2.93 with vcvtps2ph; the ymm memory form 0.50
        if mem and w == 1:
            return [('cvtph2ps m', FP12, 1)]
        return [('f16 convert', FP012, 2 * w)]
    if op == 'vcvtps2ph':
        return [('f16 convert', FP012, 2.25 * w)]
    if op in ('vpmultishiftqb', 'vpermt2b', 'vpermi2b', 'vpdpbusd', 'vpdpbusds', 'vpmaddwd',
              'vpmaddubsw', 'vpblendvb', 'vblendvps'):
        return [('fma-pipe shuffle/int', FP01, w)]    # 2.0 c per pair with a zmm fma
    if re.match(r'vp?expand|vp?compress', op):
        return [('expand', FP01, 1.5 * w)]            # 0.8 c xmm/ymm, 1.5 c zmm alone
    if re.match(r'vpmov[bwdq]2m|vptestn?m|vpcmp|vcmpps', op):
        return [('to mask', FP01, w)]                 # 2.0 c per pair with a zmm fma
    if op.startswith('kmov') and mem:
        return [('kmov k, m', FP01, 1)]               # 0.55 c alone, 1.5 c per pair with an fma
    if re.match(r'k(mov|or|and|xor|not|shift|unpck|add|test)', op):
        # 1/cycle, and 1.65 c per pair with vpmovb2m, 1.25 c with a kmov from memory
        return [('kmov', ['K'], 1), ('kmov (FP0/FP1 time)', FP01, 1.3)]
    if re.match(r'v(p)?broadcast', op) and mem and '{%k' in args:
        return [('masked broadcast', FP12, 2 * w)]    # with its unmasked twin 2.0 c, 3.0 c + vpermb
    if re.match(r'vmov[qd]$|vpextr|vpinsr', op) and re.search(r'%[re]|%[a-d]x|%[sd]i', args):
        return [('GPR<->vector', ['G'], 1)]
    if re.match(r'vps(rl|ll|ra)', op):
        return [('shift', FP23, w)]
    if re.match(r'vpunpck', op):
        return [('unpack', FP123, w)]                 # 0.67 c zmm alone
    if re.match(r'vbroadcast[if](32x4|64x2|32x8|64x4)', op) and w == 2:
        return [('shuffle', FP12, w)]                 # 2.0 c per pair with a vpermb
    if re.match(r'vpbroadcast[bwdq]|vbroadcast(ss|sd|[if]128)|'
                r'vmov(ups|aps|dqu(8|16|32|64)?|dqa(32|64)?|ss|sd|q|d)$', op):
        if mem:
            return []                                 # loads (masked ones too: 0.5 c ymm)
        # a merge-masked register move is a blend
        return [('vector ALU', FP, w)] if '{%k' in args else [('reg move', [], 1)]
    if re.match(r'vperm|vpshuf|vpalignr|vshuf|vextract|vinsert|vpmov[sz]x', op):
        return [('shuffle', FP12, w)]
    if re.match(r'vp(and|or|xor|andn|add|sub|min|max|ternlog|blendm)|vblendps|vpblendd|'
                r'vandps|vorps|vxorps', op):
        return [('vector ALU', FP, w)]
    return None


CPUS = {
    'zen3': dict(classify=None, pipes=FP + ['X', 'G'], loads=3, load256=2, scalar=4, dispatch=6),
    'zen5': dict(classify=classify_zen5, pipes=FP + ['K', 'G'], loads=4, load256=2, scalar=6,
                 dispatch=8, stores=2),
}


def budget(path, weights=None, cpu='zen3'):
    m = CPUS[cpu]
    ins = []
    for line in open(path):
        line = line.strip()
        if line and not line.endswith(':'):
            op, _, args = line.partition(' ')
            ins.append((op, args.strip()))
    uops, counts = [], {}
    loads = load256 = stores = scalar = fused = 0
    fma_weights = 0
    prev = ''
    for op, args in ins:
        mem = '(' in args and not op.startswith('lea')
        operands = re.split(r',(?![^(]*\))', args)
        store = mem and len(operands) > 1 and '(' in operands[-1]  # AT&T: destination last
        stores += store
        if mem and not store:
            loads += 1
            if cpu == 'zen3':
                load256 += 'ymm' in args and not re.match(r'vcvtph2ps|vbroadcast|vpbroadcast|vpmov', op)
            elif op.startswith('v') or op.startswith('k'):  # 256-bit units: a full zmm load twice
                full = 'zmm' in args and '{1to' not in args
                load256 += 2 if full and not re.match(r'vcvtph2ps|v?p?broadcast|vpmov', op) else 1
        if op.startswith('vfmadd'):
            fma_weights += 16 if 'zmm' in args else 8
        vector = op.startswith('v') or (cpu == 'zen5' and op.startswith('k'))
        if vector:
            c = (m['classify'] or classify)(op, args)
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
    pipes = m['pipes']
    var = [(i, p) for i, (ps, _) in enumerate(uops) for p in ps]
    n = len(var)
    a_eq = [[1 if v[0] == i else 0 for v in var] + [0] for i in range(len(uops))]
    b_eq = [w for _, w in uops]
    a_ub = [[1 if v[1] == p else 0 for v in var] + [-1] for p in pipes]
    fp = linprog([0] * n + [1], A_ub=a_ub, b_ub=[0] * len(pipes), A_eq=a_eq or None,
                 b_eq=b_eq or None, bounds=[(0, None)] * (n + 1)).x[-1] if uops else 0.0
    if cpu == 'zen3':
        bounds = {'FP pipes': fp, 'fp16 conversion unit': counts.get('f16 unit', 0),
                  'GPR->XMM': counts.get('gpr->xmm', 0)}
    else:
        bounds = {'vector pipes': fp, 'kmov': counts.get('kmov', 0),
                  'GPR<->vector': counts.get('GPR<->vector', 0), 'stores': stores / m['stores']}
    bounds.update({
        'loads': max(loads / m['loads'], load256 / m['load256']),
        'scalar ALUs': scalar / m['scalar'],
        'dispatch': (len(ins) - fused) / m['dispatch'],
    })
    weights = weights or fma_weights
    top = max(bounds, key=bounds.get)
    return dict(cpu=cpu, instructions=len(ins), weights=weights, classes=counts, loads=loads,
                bounds={k: round(v, 2) for k, v in bounds.items()}, bound=top,
                cycles=round(bounds[top], 2), weights_per_cycle=round(weights / bounds[top], 2))


if __name__ == '__main__':
    args = sys.argv[1:]
    cpu = 'zen3'
    if args[:1] == ['--cpu']:
        cpu, args = args[1], args[2:]
    print(json.dumps(budget(args[0], int(args[1]) if len(args) > 1 else None, cpu), indent=1))
