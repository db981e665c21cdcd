// Seeded Rng: bad calls, determinism, distributions, and the exact state round trip a checkpoint relies on.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../runtime-common/validate.js';
import { RNG_ALGORITHM, Rng, type RngState } from '../../runtime-common/rng.js';

const goodState = (): RngState => new Rng(7).getState();

describe('Rng rejects', () => {
  it.each([
    ['a fractional seed', () => new Rng(1.5), /Expected an integer .* for seed but received 1\.5/],
    ['a string seed', () => new Rng('3' as unknown as number), /for seed but received "3"/],
    ['an unsafe seed', () => new Rng(2 ** 60), /for seed but received/],
    ['a null state', () => Rng.fromState(null), /Expected an object for rng state but received null/],
    ['a foreign algorithm', () => Rng.fromState({ ...goodState(), algorithm: 'mt19937' }), /Expected "xoroshiro128plus" for rng state\.algorithm but received "mt19937"/],
    ['three words', () => Rng.fromState({ ...goodState(), words: [1, 2, 3] }), /Expected an array of four 32-bit signed integers for rng state\.words but received \[1,2,3\]/],
    ['a word out of range', () => Rng.fromState({ ...goodState(), words: [1, 2, 3, 2 ** 31] }), /for rng state\.words/],
    ['the all-zero state', () => Rng.fromState({ ...goodState(), words: [0, 0, 0, 0] }), /Expected a non-zero generator state for rng state\.words/],
    ['a NaN spare', () => Rng.fromState({ ...goodState(), spareNormal: Number.NaN }), /Expected null or a finite number for rng state\.spareNormal but received NaN/],
    ['nextInt(0)', () => new Rng(1).nextInt(0), /Expected an integer >= 1 .* for n but received 0/],
    ['nextInt(2.5)', () => new Rng(1).nextInt(2.5), /for n but received 2\.5/],
    ['shuffle(null)', () => new Rng(1).shuffle(null as unknown as number[]), /Expected an array for array but received null/],
  ])('%s', (_, call, pattern) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(pattern);
  });
});

describe('Rng', () => {
  // The stream pinned: these are the draws pure-rand's xoroshiro128+ gave (through the same seeding) when training,
  // the committed models and the photo evaluation's figures used it; the generator here must go on giving them.
  it.each([
    [0, { floats: [0.5346528110094368, 0.7218406612519175, 0.16055265837348998, 0.38683811482042074], normals: [0.9160771495136873, 0.012396059711143478, -1.0069330653425859], ints: [8, 1, 520088281384, 482582055], perm: [0, 2, 8, 3, 7, 9, 6, 1, 4, 5], words: [-573305920, -441418724, 1142071142, 257846588], spareNormal: 0.06698518725440863 }],
    [1, { floats: [0.5484969296958297, 0.9677261400502175, 0.9560007166583091, 0.7904182230122387], normals: [-1.067974441245731, -0.8123382984410263, -0.7697649285745966], ints: [9, 1, 340330253873, 2406866544], perm: [5, 9, 2, 0, 3, 8, 4, 1, 7, 6], words: [1578293013, 105446467, 1789961028, 246601478], spareNormal: 1.2534140566849006 }],
    [-5, { floats: [0.9329335906077176, 0.8755130188073963, 0.8005743441171944, 0.9190466892905533], normals: [0.6249028810055509, -1.2154066668443746, -1.4955825816409707], ints: [6, 0, 177239242281, 3774692748], perm: [2, 3, 7, 4, 9, 5, 8, 6, 1, 0], words: [2132389192, 360750072, 1278192025, 322332892], spareNormal: -0.18498640933549274 }],
    [2 ** 40 + 3, { floats: [0.9091798393055797, 0.7892352608032525, 0.6238357736729085, 0.45017999201081693], normals: [0.39535533612252655, 0.28408195295732835, 1.9098149970433433], ints: [9, 2, 987173343645, 1524880611], perm: [9, 6, 4, 5, 2, 3, 1, 0, 7, 8], words: [-14691024, -1857952426, 843720700, 236957585], spareNormal: 0.7378904856367053 }],
  ] as const)('gives the stream the committed models were trained on (seed %s)', (seed, want) => {
    const rng = new Rng(seed);
    expect(Array.from({ length: 4 }, () => rng.nextFloat())).toEqual(want.floats);
    expect(Array.from({ length: 3 }, () => rng.nextNormal())).toEqual(want.normals);
    expect([rng.nextInt(10), rng.nextInt(3), rng.nextInt(2 ** 40), rng.nextInt(2 ** 32 + 1)]).toEqual(want.ints);
    expect(Array.from(rng.permutation(10))).toEqual(want.perm);
    expect(rng.getState()).toEqual({ algorithm: RNG_ALGORITHM, words: want.words, spareNormal: want.spareNormal });
  });

  it('repeats a seed and separates neighbouring seeds from the first draw', () => {
    const draw = (seed: number) => Array.from({ length: 8 }, ((rng) => () => rng.nextFloat())(new Rng(seed)));
    expect(draw(42)).toEqual(draw(42));
    const a = draw(1);
    const b = draw(2);
    // Raw seeding (the seed almost verbatim in the state) would make these first draws nearly equal; mixed seeds are unrelated.
    expect(Math.abs(a[0] - b[0])).toBeGreaterThan(1e-6);
    expect(a).not.toEqual(b);
    expect(draw(1_000_001)).not.toEqual(draw(1));
    expect(draw(-5)).not.toEqual(draw(5));
  });

  it('draws uniform floats in [0, 1), integers in [0, n) and standard normals', () => {
    const rng = new Rng(3);
    const n = 200_000;
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      sum += u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);

    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[rng.nextInt(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);

    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      s1 += z;
      s2 += z * z;
    }
    expect(Math.abs(s1 / n)).toBeLessThan(0.01);
    expect(Math.sqrt(s2 / n - (s1 / n) ** 2)).toBeCloseTo(1, 2);
  });

  it('shuffles in place into a permutation, reproducibly', () => {
    const a = Array.from({ length: 1000 }, (_, i) => i);
    const b = new Uint32Array(a);
    new Rng(9).shuffle(a);
    new Rng(9).shuffle(b);
    expect(Array.from(b)).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(a.slice(0, 10)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(new Rng(9).permutation(1000))).toEqual(a);
  });

  it('restores its exact position from a JSON round trip of getState(), cached normal included', () => {
    const rng = new Rng(2024);
    for (let i = 0; i < 5; i++) rng.nextNormal(); // odd count: the pair's second value is cached
    const state = JSON.parse(JSON.stringify(rng.getState()));
    expect(state.algorithm).toBe(RNG_ALGORITHM);
    expect(state.spareNormal).not.toBeNull();
    const draw = (r: Rng) => [r.nextNormal(), r.nextFloat(), r.nextInt(1000), r.nextNormal(), r.nextNormal(), ...r.permutation(20)];
    const first = draw(rng);
    const second = draw(Rng.fromState(state));
    expect(second).toEqual(first);
  });
});
