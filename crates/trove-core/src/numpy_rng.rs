//! numpy's `default_rng(seed)`: `SeedSequence` → `PCG64` → 53-bit doubles (`uniform`), bounded integers
//! (`random_interval`) and `permutation`. Reproduced so that seeded steps draw what DataTrove's draw:
//! `sampler_filter` keeps the same documents, `document_tokenizer` shuffles in the same order.

const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const POOL_SIZE: usize = 4;
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> 16)
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L.wrapping_mul(x).wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> 16)
}

/// numpy's `SeedSequence(seed).generate_state(n_words, uint32)`.
fn seed_sequence_state(seed: u128, n_words: usize) -> Vec<u32> {
    let mut entropy = Vec::new();
    let mut s = seed;
    loop {
        entropy.push(s as u32);
        s >>= 32;
        if s == 0 {
            break;
        }
    }
    let mut pool = [0u32; POOL_SIZE];
    let mut hash_const = INIT_A;
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
    }
    for i_src in 0..POOL_SIZE {
        for i_dst in 0..POOL_SIZE {
            if i_src != i_dst {
                let h = hashmix(pool[i_src], &mut hash_const);
                pool[i_dst] = mix(pool[i_dst], h);
            }
        }
    }
    for &word in entropy.iter().skip(POOL_SIZE) {
        for slot in pool.iter_mut() {
            let h = hashmix(word, &mut hash_const);
            *slot = mix(*slot, h);
        }
    }
    let mut hash_const = INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> 16)
        })
        .collect()
}

/// numpy's `PCG64` bit generator (XSL-RR output of a 128-bit LCG).
#[derive(Debug, Clone)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    /// The upper half of the last 64-bit output, not handed out yet (numpy's `has_uint32` buffer).
    half: Option<u32>,
}

impl Pcg64 {
    /// `default_rng(seed)` for a non-negative integer seed.
    pub fn from_seed(seed: u128) -> Pcg64 {
        let w = seed_sequence_state(seed, 8);
        let word = |i: usize| u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32);
        let init_state = (u128::from(word(0)) << 64) | u128::from(word(1));
        let init_seq = (u128::from(word(2)) << 64) | u128::from(word(3));
        let mut rng = Pcg64 { state: 0, inc: (init_seq << 1) | 1, half: None };
        rng.step();
        rng.state = rng.state.wrapping_add(init_state);
        rng.step();
        rng
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }

    /// The next 32 random bits, numpy's way: the low half of a 64-bit output, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(half) = self.half.take() {
            return half;
        }
        let next = self.next_u64();
        self.half = Some((next >> 32) as u32);
        next as u32
    }

    /// numpy's `random_interval(max)`: uniform in `0..=max` by masked rejection.
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// numpy's `Generator.permutation(n)`: `arange(n)` shuffled by Fisher–Yates from the end.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.interval(i as u64) as usize;
            v.swap(i, j);
        }
        v
    }

    /// numpy's `uniform()`: a double in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// numpy's legacy `RandomState(seed)` generator (MT19937 seeded with `init_genrand`), for what
/// DataTrove draws through `np.random.RandomState`: MinHash's permutation parameters.
pub struct RandomState {
    mt: Box<[u32; 624]>,
    index: usize,
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed.
    pub fn new(seed: u32) -> RandomState {
        let mut mt = Box::new([0u32; 624]);
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32.wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        RandomState { mt, index: 624 }
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        for i in 0..624 {
            let y = (self.mt[i] & UPPER) | (self.mt[(i + 1) % 624] & LOWER);
            let mut v = self.mt[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= 0x9908_b0df;
            }
            self.mt[i] = v;
        }
        self.index = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.generate();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// The next 64-bit output: the first 32-bit draw is the high half (numpy's `mt19937_next64`).
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// `randint(low, high, dtype=np.uint64)`: uniform in `[low, high)` by masked rejection, as the
    /// legacy generator draws it (32-bit draws when the range fits in 32 bits).
    pub fn randint_u64(&mut self, low: u64, high: u64) -> u64 {
        let rng = high.saturating_sub(low).saturating_sub(1);
        if rng == 0 {
            return low;
        }
        let mut mask = rng;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if rng <= u64::from(u32::MAX) {
            if rng == u64::from(u32::MAX) {
                return low + u64::from(self.next_u32());
            }
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= rng {
                    return low + v;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= rng {
                return low + v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// `np.random.RandomState(1).randint(1, 2**61 - 1, dtype=np.uint64, size=4)` then `(0, 2**61 - 1)`,
    /// and `RandomState(7).randint(0, 1000, dtype=np.uint64, size=3)` (32-bit draws), from numpy.
    #[test]
    fn random_state_matches_numpy() {
        let p = (1u64 << 61) - 1;
        let mut g = RandomState::new(1);
        let a: Vec<u64> = (0..4).map(|_| g.randint_u64(1, p)).collect();
        let b: Vec<u64> = (0..4).map(|_| g.randint_u64(0, p)).collect();
        assert_eq!(a, [775169054918279404, 1758426461858698313, 2109959069025162, 965365488286768774]);
        assert_eq!(b, [401325382989534144, 1703346441743126657, 1130051441076870727, 1762784241922636284]);
        let mut g = RandomState::new(7);
        assert_eq!((0..3).map(|_| g.randint_u64(0, 1000)).collect::<Vec<_>>(), [175, 196, 537]);
    }

    use super::*;

    #[test]
    fn matches_numpy_default_rng() {
        // Printed by numpy 2.4: [default_rng(s).uniform() for _ in range(3)].
        let cases: [(u128, [f64; 3]); 4] = [
            (0, [0.6369616873214543, 0.2697867137638703, 0.04097352393619469]),
            (1, [0.5118216247002567, 0.9504636963259353, 0.14415961271963373]),
            (42, [0.7739560485559633, 0.4388784397520523, 0.8585979199113825]),
            ((1 << 40) + 7, [0.829812891829413, 0.25530515834910417, 0.15379071585298754]),
        ];
        for (seed, want) in cases {
            let mut rng = Pcg64::from_seed(seed);
            let got = [rng.uniform(), rng.uniform(), rng.uniform()];
            assert_eq!(got, want, "seed {seed}");
        }
    }

    #[test]
    fn permutations_match_numpy() {
        // Printed by numpy 2.4: default_rng(s).permutation(n).
        assert_eq!(Pcg64::from_seed(1).permutation(10), [8, 4, 7, 0, 1, 2, 5, 9, 6, 3]);
        assert_eq!(Pcg64::from_seed(42).permutation(7), [3, 2, 6, 4, 1, 5, 0]);
        let mut rng = Pcg64::from_seed(5);
        assert_eq!(rng.permutation(3), [1, 2, 0]);
        assert_eq!(rng.permutation(5), [1, 4, 2, 3, 0]);
    }
}
