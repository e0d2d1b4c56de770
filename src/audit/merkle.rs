//! The Merkle tree of the audit log, hashed as in RFC 9162 §2.1: leaf =
//! SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), the root of n
//! leaves splits at the largest power of two below n. Inclusion and
//! consistency proofs (§2.1.3, §2.1.4) and their verification, and a
//! `Frontier` that keeps the root up to date in O(log n) per appended leaf.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Where the roots of perfect, aligned subtrees come from. Everything else
/// (any prefix's root, inclusion and consistency proofs) is built from them
/// by the RFC's recursion, once, in `Proofs`.
pub trait Nodes {
    /// The root of leaves `a..a + n`, `n` a power of two, `a` a multiple of `n`.
    fn perfect(&self, a: usize, n: usize) -> Hash;
}

/// RFC 9162 roots and proofs over any `Nodes`.
pub trait Proofs: Nodes {
    /// MTH of leaves `a..b`, where `a` is a multiple of the largest power
    /// of two not above `b - a` (true of every range the RFC's recursion makes).
    fn range_root(&self, a: usize, b: usize) -> Hash {
        let n = b - a;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && a.is_multiple_of(n) {
            return self.perfect(a, n);
        }
        let k = split(n);
        node_hash(&self.range_root(a, a + k), &self.range_root(a + k, b))
    }

    /// PATH(m, D[0:size]) (RFC 9162 §2.1.3.1).
    fn inclusion_proof(&self, m: usize, size: usize) -> Vec<Hash> {
        fn path<T: Proofs + ?Sized>(t: &T, m: usize, a: usize, b: usize, out: &mut Vec<Hash>) {
            let n = b - a;
            if n <= 1 {
                return;
            }
            let k = split(n);
            if m < k {
                path(t, m, a, a + k, out);
                out.push(t.range_root(a + k, b));
            } else {
                path(t, m - k, a + k, b, out);
                out.push(t.range_root(a, a + k));
            }
        }
        let mut out = Vec::new();
        path(self, m, 0, size, &mut out);
        out
    }

    /// PROOF(m, D[0:size]) (RFC 9162 §2.1.4.1).
    fn consistency_proof(&self, m: usize, size: usize) -> Vec<Hash> {
        fn sub<T: Proofs + ?Sized>(t: &T, m: usize, a: usize, b: usize, whole: bool, out: &mut Vec<Hash>) {
            let n = b - a;
            if m == n {
                if !whole {
                    out.push(t.range_root(a, b));
                }
                return;
            }
            let k = split(n);
            if m <= k {
                sub(t, m, a, a + k, whole, out);
                out.push(t.range_root(a + k, b));
            } else {
                sub(t, m - k, a + k, b, false, out);
                out.push(t.range_root(a, a + k));
            }
        }
        let mut out = Vec::new();
        if m > 0 && m < size {
            sub(self, m, 0, size, true, &mut out);
        }
        out
    }
}

impl<T: Nodes + ?Sized> Proofs for T {}

/// Every level of the tree over some leaves (2n hashes): any perfect
/// subtree is a look-up. An export of n events with a proof each is
/// O(n log² n), not O(n²).
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Tree {
        let mut levels = vec![leaves];
        while levels.last().map_or(0, Vec::len) > 1 {
            let below = levels.last().expect("a level");
            let up: Vec<Hash> = below.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
            levels.push(up);
        }
        Tree { levels }
    }

    pub fn size(&self) -> usize {
        self.levels[0].len()
    }

    pub fn leaf(&self, i: usize) -> Option<&Hash> {
        self.levels[0].get(i)
    }

    /// The root of the first `size` leaves.
    pub fn root(&self, size: usize) -> Hash {
        self.range_root(0, size.min(self.size()))
    }
}

impl Nodes for Tree {
    fn perfect(&self, a: usize, n: usize) -> Hash {
        let level = n.trailing_zeros() as usize;
        self.levels[level][a >> level]
    }
}

/// Leaves per block: the log keeps the root of every complete block of
/// this many events, so proofs need the leaves of two blocks, not all.
pub const BLOCK: usize = 1024;

/// A tree of some size from the roots of its complete blocks and the
/// leaves of the few blocks a proof needs: proofs cost O(size / BLOCK +
/// BLOCK) instead of reading every leaf.
pub struct Blocked {
    /// Levels over the block roots.
    upper: Tree,
    /// Trees over the leaves of the blocks that were read (the last one may be partial).
    blocks: std::collections::HashMap<usize, Tree>,
}

impl Blocked {
    /// `roots`: the root of each complete block below the tree's size;
    /// `blocks`: block index → its leaves, for the blocks the caller needs.
    pub fn new(roots: Vec<Hash>, blocks: Vec<(usize, Vec<Hash>)>) -> Blocked {
        Blocked { upper: Tree::new(roots), blocks: blocks.into_iter().map(|(i, l)| (i, Tree::new(l))).collect() }
    }

    /// The blocks whose leaves an inclusion proof of `m` in `size` needs.
    pub fn blocks_for_inclusion(m: usize, size: usize) -> Vec<usize> {
        let mut v = vec![m / BLOCK];
        if !size.is_multiple_of(BLOCK) {
            v.push(size / BLOCK);
        }
        v.dedup();
        v
    }

    /// The blocks whose leaves a consistency proof from `m` to `size` needs.
    pub fn blocks_for_consistency(m: usize, size: usize) -> Vec<usize> {
        let mut v = Vec::new();
        if !m.is_multiple_of(BLOCK) {
            v.push(m / BLOCK);
        }
        if !size.is_multiple_of(BLOCK) {
            v.push(size / BLOCK);
        }
        v.dedup();
        v
    }
}

impl Blocked {
    /// Leaf `i`, if its block was read.
    pub fn leaf(&self, i: usize) -> Option<&Hash> {
        self.blocks.get(&(i / BLOCK)).and_then(|t| t.leaf(i % BLOCK))
    }
}

impl Nodes for Blocked {
    fn perfect(&self, a: usize, n: usize) -> Hash {
        if n >= BLOCK {
            return self.upper.perfect(a / BLOCK, n / BLOCK);
        }
        match self.blocks.get(&(a / BLOCK)) {
            Some(t) => t.perfect(a % BLOCK, n),
            // A caller that asked for the wrong blocks gets a proof that does not verify.
            None => [0; 32],
        }
    }
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && &r == root
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(first: u64, second: u64, first_root: &Hash, second_root: &Hash, proof: &[Hash]) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    &fr == first_root && &sr == second_root && s_n == 0
}

/// The roots of the complete subtrees that make up a tree of `size` leaves,
/// largest first: enough to append and to compute the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    stack: Vec<Hash>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        self.push_block(leaf);
    }

    /// Pushes a leaf; if it completes a block of `BLOCK` leaves, returns
    /// that block's root.
    pub fn push_block(&mut self, leaf: Hash) -> Option<Hash> {
        const HEIGHT: u32 = BLOCK.trailing_zeros();
        let mut h = leaf;
        let mut n = self.size;
        let mut merges = 0;
        let mut block = None;
        while n & 1 == 1 {
            let left = self.stack.pop().expect("a subtree per set bit");
            h = node_hash(&left, &h);
            n >>= 1;
            merges += 1;
            if merges == HEIGHT {
                block = Some(h);
            }
        }
        self.stack.push(h);
        self.size += 1;
        block
    }

    /// The frontier as bytes: its subtree roots, left to right.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.stack.concat()
    }

    /// The frontier of a tree of `size` leaves from `to_bytes`, if the
    /// bytes hold one root per set bit of `size`.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Option<Frontier> {
        if !bytes.len().is_multiple_of(32) || bytes.len() / 32 != size.count_ones() as usize {
            return None;
        }
        let stack = bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
        Some(Frontier { size, stack })
    }

    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(last) = it.next() else { return empty_root() };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The RFC's PATH and PROOF definitions, literally (rehashing subtrees):
    // the reference the indexed `Proofs` are checked against.
    /// The audit path of leaf `m` in the tree of these leaves (RFC 9162 PATH).
    fn inclusion_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        if m < k {
            let mut p = inclusion_proof(m, &leaves[..k]);
            p.push(root(&leaves[k..]));
            p
        } else {
            let mut p = inclusion_proof(m - k, &leaves[k..]);
            p.push(root(&leaves[..k]));
            p
        }
    }

    /// The consistency proof between the first `m` leaves and all of them
    /// (RFC 9162 PROOF; empty when m is 0 or the whole tree).
    fn consistency_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        if m == 0 || m >= leaves.len() {
            return Vec::new();
        }
        subproof(m, leaves, true)
    }

    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole { Vec::new() } else { vec![root(leaves)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(root(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(root(&leaves[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("event {i}").as_bytes())).collect()
    }

    /// The reference tree of RFC 6962/9162 implementations (Certificate
    /// Transparency's test data): any other log's tooling agrees with ours.
    #[test]
    fn the_reference_tree_has_the_reference_roots_and_paths() {
        let data: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let mut f = Frontier::default();
        for (n, want) in roots.iter().enumerate() {
            f.push(leaves[n]);
            assert_eq!(hex(&root(&leaves[..=n])), *want, "root of {}", n + 1);
            assert_eq!(hex(&f.root()), *want, "frontier root of {}", n + 1);
        }
        let path: Vec<String> = inclusion_proof(0, &leaves).iter().map(|h| hex(h)).collect();
        assert_eq!(
            path,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
    }

    #[test]
    fn hashes_follow_rfc9162_domain_separation() {
        // SHA-256 of the single byte 0x00: the leaf hash of empty data.
        assert_eq!(hex(&leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_eq!(hex(&empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_eq!(root(&[a, b]), node_hash(&a, &b));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        // Three leaves: ((a, b), c), not (a, (b, c)).
        let c = leaf_hash(b"c");
        assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
    }

    fn hex(h: &[u8]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn tree_levels_give_the_same_roots_and_proofs_as_the_recursion() {
        let l = leaves(70);
        let t = Tree::new(l.clone());
        assert_eq!(t.root(0), empty_root());
        for n in 1..=l.len() {
            assert_eq!(t.root(n), root(&l[..n]), "root of {n}");
            for m in 0..n {
                let p = t.inclusion_proof(m, n);
                assert_eq!(p, inclusion_proof(m, &l[..n]), "path {m} in {n}");
                assert!(verify_inclusion(m as u64, n as u64, &l[m], &p, &root(&l[..n])));
            }
            for m in 0..=n {
                let p = t.consistency_proof(m, n);
                assert_eq!(p, consistency_proof(m, &l[..n]), "consistency {m} → {n}");
                if m > 0 {
                    assert!(verify_consistency(m as u64, n as u64, &root(&l[..m]), &root(&l[..n]), &p));
                }
            }
        }
    }

    #[test]
    fn block_roots_and_two_blocks_of_leaves_give_the_same_proofs() {
        let l = leaves(2 * BLOCK + 600);
        let mut f = Frontier::default();
        let roots: Vec<Hash> = l.iter().filter_map(|h| f.push_block(*h)).collect();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[1], root(&l[BLOCK..2 * BLOCK]));
        let block = |b: usize, n: usize| (b, l[b * BLOCK..((b + 1) * BLOCK).min(n)].to_vec());
        for n in [1, 2, 1023, 1024, 1025, 1500, 2047, 2048, 2049, 2 * BLOCK + 600] {
            let full = roots[..n / BLOCK].to_vec();
            for m in [0, 1, 511, 1022, 1023, 1024, 1025, 2000, 2047, 2048, 2100, 2 * BLOCK + 599]
                .into_iter()
                .filter(|m| *m < n)
            {
                let t = Blocked::new(
                    full.clone(),
                    Blocked::blocks_for_inclusion(m, n).into_iter().map(|b| block(b, n)).collect(),
                );
                assert_eq!(t.inclusion_proof(m, n), inclusion_proof(m, &l[..n]), "path {m} in {n}");
                assert_eq!(t.leaf(m), Some(&l[m]));
                let t = Blocked::new(
                    full.clone(),
                    Blocked::blocks_for_consistency(m, n).into_iter().map(|b| block(b, n)).collect(),
                );
                assert_eq!(t.consistency_proof(m, n), consistency_proof(m, &l[..n]), "consistency {m} → {n}");
            }
            let t =
                Blocked::new(full, Blocked::blocks_for_consistency(0, n).into_iter().map(|b| block(b, n)).collect());
            assert_eq!(t.range_root(0, n), root(&l[..n]), "root of {n}");
        }
    }

    #[test]
    fn frontier_matches_the_recursive_root() {
        let l = leaves(70);
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for n in 1..=l.len() {
            f.push(l[n - 1]);
            assert_eq!(f.root(), root(&l[..n]), "size {n}");
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_fails() {
        let l = leaves(33);
        for n in 1..=l.len() {
            let r = root(&l[..n]);
            for m in 0..n {
                let p = inclusion_proof(m, &l[..n]);
                assert!(verify_inclusion(m as u64, n as u64, &l[m], &p, &r), "m={m} n={n}");
                // Another leaf, index or size does not verify.
                assert!(!verify_inclusion(m as u64, n as u64, &leaf_hash(b"x"), &p, &r));
                if n > 1 {
                    assert!(!verify_inclusion(((m + 1) % n) as u64, n as u64, &l[m], &p, &r) || l[m] == l[(m + 1) % n]);
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_forked_history_fails() {
        let l = leaves(33);
        for n in 1..=l.len() {
            let rn = root(&l[..n]);
            for m in 1..=n {
                let rm = root(&l[..m]);
                let p = consistency_proof(m, &l[..n]);
                assert!(verify_consistency(m as u64, n as u64, &rm, &rn, &p), "m={m} n={n}");
                if m < n {
                    // A different old root (a rewritten history) does not verify.
                    let mut forked = l[..m].to_vec();
                    forked[m / 2] = leaf_hash(b"rewritten");
                    assert!(!verify_consistency(m as u64, n as u64, &root(&forked), &rn, &p), "m={m} n={n}");
                    assert!(!verify_consistency(m as u64, n as u64, &rm, &leaf_hash(b"other"), &p));
                }
            }
        }
    }
}
